//go:build !dbresolver

package dbresolverapp

import (
	"context"
	"fmt"
	"os"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// The set-up with unifieddb: one configuration file whose top-level keys are
// the default cluster and whose `clusters: events:` section (with
// `tables: [events]`) is the events database. The queries, dbresolver's
// clauses included, stay as they are.
const ConfigEnv = "DBRESOLVERAPP_CONFIG"

// Open opens a Manager on the configuration named by ConfigEnv. close
// closes it.
func Open(ctx context.Context) (db *gorm.DB, close func() error, err error) {
	path := os.Getenv(ConfigEnv)
	if path == "" {
		return nil, nil, fmt.Errorf("%w: set %s", ErrNotConfigured, ConfigEnv)
	}
	cfg, err := datalayer.LoadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := datalayer.New(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return m.DB(), m.Close, nil
}
