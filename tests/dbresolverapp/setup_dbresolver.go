//go:build dbresolver

package dbresolverapp

import (
	"context"
	"fmt"
	"os"
	"strings"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"
)

// The set-up with gorm.io/plugin/dbresolver. Each variable holds DSNs, one a
// line: the primary first, then its replicas.
const (
	DefaultDSNsEnv = "DBRESOLVERAPP_DEFAULT_DSNS"
	EventsDSNsEnv  = "DBRESOLVERAPP_EVENTS_DSNS"
)

// Open connects to the default database and registers its replicas and the
// events resolver. close releases what it opened.
func Open(ctx context.Context) (db *gorm.DB, close func() error, err error) {
	def, events := dsns(DefaultDSNsEnv), dsns(EventsDSNsEnv)
	if len(def) == 0 || len(events) == 0 {
		return nil, nil, fmt.Errorf("%w: set %s and %s", ErrNotConfigured, DefaultDSNsEnv, EventsDSNsEnv)
	}
	db, err = gorm.Open(postgres.Open(def[0]), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, nil, err
	}
	err = db.Use(dbresolver.Register(dbresolver.Config{
		Replicas: dialectors(def[1:]),
		Policy:   dbresolver.RandomPolicy{},
	}).Register(dbresolver.Config{
		Sources:  dialectors(events[:1]),
		Replicas: dialectors(events[1:]),
		Policy:   dbresolver.RandomPolicy{},
	}, &Event{}, EventsResolver))
	if err != nil {
		return nil, nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, nil, err
	}
	// dbresolver has no Close for the pools it opened; the process ends
	// them.
	return db, sqlDB.Close, nil
}

func dsns(env string) []string {
	var out []string
	for _, line := range strings.Split(os.Getenv(env), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func dialectors(dsns []string) []gorm.Dialector {
	var out []gorm.Dialector
	for _, dsn := range dsns {
		out = append(out, postgres.Open(dsn))
	}
	return out
}
