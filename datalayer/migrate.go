package datalayer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/migrations"
)

// migrationLockID is the advisory lock every schema change takes: goose's
// own key, so AutoMigrate and the SQL migrations of many instances starting
// at once run one after the other. Each cluster's lock is its own: it is
// taken on that cluster's primary.
var migrationLockID = lock.DefaultLockID

// errNotPrimary is wrapped by AutoMigrate when the node it reached turned out
// to be in recovery.
var errNotPrimary = errors.New("the node is in recovery, not the primary")

// AutoMigrate creates or alters the table of every registered model, in
// dependency order, on the primary only (verified on the very connection that
// migrates), through the Transactional pool, in one transaction holding a
// PostgreSQL advisory lock: ten instances starting at once neither fail nor
// race, and a failure leaves the schema as it was. It returns once the
// replicas in rotation have replayed the migration (see syncReplicas).
//
// With several clusters each model is created on its own cluster's primary
// (its placement: registry.Place, `tables:`, else default), under that
// cluster's advisory lock, one cluster after the other.
func (m *Manager) AutoMigrate(ctx context.Context) error {
	if err := m.waitPrimary(ctx); err != nil {
		return err
	}
	names := m.plugin.ClusterNames()
	for _, name := range names {
		var keep func(model any) bool
		on := func() *gorm.DB { return m.Conn(ctx, Transactional) }
		if len(names) > 1 {
			on = func() *gorm.DB { return m.Conn(ctx, Transactional).Clauses(OnCluster(name)) }
			keep = func(model any) bool {
				c, err := m.plugin.ClusterOf(m.db, model)
				return err == nil && c == name
			}
		}
		err := m.transaction(ctx, on, func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockID).Error; err != nil {
				return err
			}
			var inRecovery bool
			if err := tx.Raw("SELECT pg_is_in_recovery()").Scan(&inRecovery).Error; err != nil {
				return err
			}
			if inRecovery {
				return fmt.Errorf("%w: %w", ErrNoPrimary, errNotPrimary)
			}
			return m.reg.AutoMigrateWhere(tx, keep)
		})
		if err != nil {
			if len(names) > 1 {
				return fmt.Errorf("unifieddb: AutoMigrate on cluster %s: %w", name, err)
			}
			return fmt.Errorf("unifieddb: AutoMigrate: %w", err)
		}
	}
	return m.syncReplicas(ctx)
}

// syncReplicas returns once the replicas in rotation have replayed the
// migration, so the next Auto read sees the new schema. It waits at most
// max_replication_lag (failover_timeout when that is 0); a replica still
// behind then leaves rotation until it catches up.
func (m *Manager) syncReplicas(ctx context.Context) error {
	wait := m.cfg.MaxReplicationLag
	if wait <= 0 {
		wait = m.cfg.FailoverTimeout
	}
	if err := m.plugin.SyncReplicas(ctx, wait); err != nil {
		return fmt.Errorf("unifieddb: waiting for replicas to replay the migration: %w", err)
	}
	return nil
}

// Migrate runs AutoMigrate, then the SQL migrations handed to the Manager
// (WithMigrations or migrations_dir) that are not applied yet, under the
// same advisory lock, and returns those it applied. With none handed it runs
// AutoMigrate only (logged at DEBUG) and returns no result and no error: the
// library has no migrations of its own. It is idempotent: a second call
// changes nothing. Like AutoMigrate it returns once the replicas in rotation
// have replayed what it did.
//
// With several clusters it then runs each cluster's SQL migrations
// (WithClusterMigrations or clusters.NAME.migrations_dir) on that cluster's
// migration_host or primary, under that cluster's advisory lock: the
// default cluster first, then the named ones by name. Each Result says its
// cluster (Result.Cluster). A failure stops there: the results of the
// clusters before it (and of its migrations applied before the failing
// one) are returned with an error naming the cluster.
func (m *Manager) Migrate(ctx context.Context) ([]migrations.Result, error) {
	if err := m.AutoMigrate(ctx); err != nil {
		return nil, err
	}
	var all []migrations.Result
	ran := false
	for _, name := range m.plugin.ClusterNames() {
		s := m.migs[name]
		if s == nil || s.fsys == nil {
			continue
		}
		ran = true
		res, err := m.migrateSite(ctx, s)
		all = append(all, res...)
		if err != nil {
			return all, err
		}
	}
	if !ran {
		m.log.DebugContext(ctx, "unifieddb: Migrate: no SQL migrations handed (WithMigrations, migrations_dir): AutoMigrate only")
		return nil, nil
	}
	return all, m.syncReplicas(ctx)
}

// migrateSite applies the pending SQL migrations of one cluster.
func (m *Manager) migrateSite(ctx context.Context, s *migrationSite) ([]migrations.Result, error) {
	r, err := m.runner(s)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res, err := r.Up(ctx)
	if err != nil && s.label != "" {
		return res, fmt.Errorf("unifieddb: migrate on cluster %s: %w", s.label, err)
	}
	if err != nil {
		return res, fmt.Errorf("unifieddb: migrate: %w", err)
	}
	return res, nil
}

// Migrations returns a runner of the default cluster's SQL migrations
// (WithMigrations or migrations_dir; a migrations.WithFS in opts replaces
// them), for status and down, on migration_host when it is set, else on the
// primary's Transactional pool. With none handed it returns an error
// wrapping migrations.ErrNoMigrations, rather than a runner that would
// silently report nothing. Close the runner when done; it leaves the pool
// open.
func (m *Manager) Migrations(opts ...migrations.Option) (*migrations.Runner, error) {
	return m.runner(m.migs[DefaultCluster], opts...)
}

// MigrationsOn is Migrations for the named cluster (DefaultCluster
// included): a runner of its SQL migrations (WithClusterMigrations or
// clusters.NAME.migrations_dir) on its migration_host or primary, recording
// them in its own database. A name no cluster has is an error wrapping
// ErrUnknownCluster. With several clusters the runner's results say the
// cluster (Result.Cluster).
func (m *Manager) MigrationsOn(cluster string, opts ...migrations.Option) (*migrations.Runner, error) {
	s, ok := m.migs[cluster]
	if !ok {
		known := append([]string{DefaultCluster}, m.cfg.ClusterNames()...)
		return nil, fmt.Errorf("%w: %q in MigrationsOn (the clusters: %s)", ErrUnknownCluster, cluster, strings.Join(known, ", "))
	}
	return m.runner(s, opts...)
}

// runner is the runner of one cluster's SQL migrations (see Migrations).
func (m *Manager) runner(s *migrationSite, opts ...migrations.Option) (*migrations.Runner, error) {
	db, err := m.migrationDB(s)
	if err != nil {
		return nil, s.errorf("migrations: %w", err)
	}
	base := []migrations.Option{migrations.WithLogger(m.log)}
	if s.label != "" {
		base = append(base, migrations.WithCluster(s.label))
	}
	if s.fsys != nil {
		base = append(base, migrations.WithFS(s.fsys))
	}
	r, err := migrations.New(db, append(base, opts...)...)
	if errors.Is(err, migrations.ErrNoMigrations) && s.fsys == nil {
		return nil, s.errorf("no SQL migrations handed to the Manager (%s): %w", s.handedBy(), err)
	}
	if errors.Is(err, migrations.ErrNoMigrations) && s.cfg.MigrationsDir != "" && len(opts) == 0 {
		return nil, s.errorf("%s %q: %w", s.field("migrations_dir"), s.cfg.MigrationsDir, err)
	}
	if err != nil {
		return nil, s.errorf("%w", err) // the runner's errors start with "migrations:"
	}
	return r, nil
}

// waitPrimary waits until the health checker has seen a primary (probed, not
// assumed), up to failover_timeout; it fails at once for a fault waiting
// cannot cure (see WaitReady).
func (m *Manager) waitPrimary(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, m.cfg.FailoverTimeout)
	defer cancel()
	err := m.WaitReady(wctx)
	var u *UnavailableError
	if err != nil && ctx.Err() == nil && errors.As(err, &u) && !u.Permanent {
		// failover_timeout ran out, not the caller's context: say so as a
		// statement does.
		u.Within = m.cfg.FailoverTimeout
		return u
	}
	return err
}
