package datalayer

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/prompt-improver/unifieddb/plugin"
)

// directDB is the connection pool to migration_host, opened on first use
// and closed with the Manager. The SQL migrations hold a session advisory
// lock on one connection while they run on another, so it allows a few.
type directDB struct {
	mu     sync.Mutex
	db     *sql.DB
	closed bool
}

const directMaxConns = 4

// migrationDB returns where a cluster's SQL migrations run: its
// migration_host when set, else its primary's Transactional pool. Behind
// PgBouncer migration_host is required: goose's session lock would stay on
// whatever server connection PgBouncer lent, and its unlock would go to
// another.
func (m *Manager) migrationDB(s *migrationSite) (*sql.DB, error) {
	if s.cfg.MigrationHost == "" {
		if s.cfg.PgBouncer {
			return nil, &ConfigError{Fields: []FieldError{{Field: s.field("migration_host"),
				Problem: "is required with pgbouncer to run the SQL migrations: their session advisory lock needs a direct connection to the primary"}}}
		}
		db := m.Conn(context.Background(), Transactional)
		if s.name != DefaultCluster {
			db = db.Clauses(OnCluster(s.name)) // points the handle at that cluster's pool
		}
		return db.DB()
	}
	s.direct.mu.Lock()
	defer s.direct.mu.Unlock()
	if s.direct.closed {
		return nil, ErrClosed
	}
	if s.direct.db != nil {
		return s.direct.db, nil
	}
	hp, problem := parseHostPort(s.cfg.MigrationHost, s.cfg.Port)
	if problem != "" {
		return nil, &ConfigError{Fields: []FieldError{{Field: s.field("migration_host"), Problem: problem}}}
	}
	cc, err := s.connConfig(plugin.Addr{Host: hp.Host, Port: hp.Port})
	if err != nil {
		return nil, fmt.Errorf("unifieddb: %s: %w", s.field("migration_host"), err)
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(directMaxConns)
	db.SetMaxIdleConns(1)
	s.direct.db = db
	return db, nil
}

func (d *directDB) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.db == nil {
		return nil
	}
	err := d.db.Close()
	d.db = nil
	return err
}
