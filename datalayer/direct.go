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

// migrationDB returns where the SQL migrations run: migration_host when set,
// else the primary's Transactional pool. Behind PgBouncer migration_host is
// required: goose's session lock would stay on whatever server connection
// PgBouncer lent, and its unlock would go to another.
func (m *Manager) migrationDB() (*sql.DB, error) {
	if m.cfg.MigrationHost == "" {
		if m.cfg.PgBouncer {
			return nil, &ConfigError{Fields: []FieldError{{Field: "migration_host",
				Problem: "is required with pgbouncer to run the SQL migrations: their session advisory lock needs a direct connection to the primary"}}}
		}
		return m.Conn(context.Background(), Transactional).DB()
	}
	m.direct.mu.Lock()
	defer m.direct.mu.Unlock()
	if m.direct.closed {
		return nil, ErrClosed
	}
	if m.direct.db != nil {
		return m.direct.db, nil
	}
	hp, problem := parseHostPort(m.cfg.MigrationHost, m.cfg.Port)
	if problem != "" {
		return nil, &ConfigError{Fields: []FieldError{{Field: "migration_host", Problem: problem}}}
	}
	cc, err := m.connConfig(plugin.Addr{Host: hp.Host, Port: hp.Port})
	if err != nil {
		return nil, fmt.Errorf("unifieddb: migration_host: %w", err)
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(directMaxConns)
	db.SetMaxIdleConns(1)
	m.direct.db = db
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
