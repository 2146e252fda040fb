// Package migrations runs the versioned SQL migrations an application hands it (an fs.FS of
// NNNNN_name.sql files, see [WithFS]): a Runner applies them with pressly/goose's Provider API
// under a PostgreSQL session advisory lock, so several processes may run them at once and each
// migration is applied exactly once. The package holds no migration of its own.
//
// Such migrations hold what GORM's AutoMigrate cannot express (extensions, partial indexes, data
// backfills); datalayer's Manager.Migrate runs them after AutoMigrate has created the tables.
//
// Each migration runs in its own transaction (goose's default; do not add
// "-- +goose NO TRANSACTION"), so a failing migration leaves the schema as it was.
package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// VersionTable is the table goose records applied versions in.
const VersionTable = "goose_db_version"

var (
	// ErrPoolTooSmall is returned by [New] and every Runner method when the *sql.DB allows only
	// one open connection. The session advisory lock holds one connection for the whole run and
	// must be released on that same connection; with SetMaxOpenConns(1) anything else that needs
	// a connection waits forever. Leave MaxOpenConns at 0 (unlimited) or set it to 2 or more.
	ErrPoolTooSmall = errors.New("migrations: the *sql.DB must allow at least 2 open connections")

	// ErrNoMigrations is returned by [New] when no fs.FS is handed ([WithFS]) or the one handed
	// holds no NNNNN_name.sql files.
	ErrNoMigrations = errors.New("migrations: no migrations found")

	// ErrClosed is returned by Runner methods after [Runner.Close].
	ErrClosed = errors.New("migrations: runner closed")

	// ErrNothingToRollBack is returned by [Runner.Down] when no migration is applied.
	ErrNothingToRollBack = errors.New("migrations: no applied migration to roll back")
)

// Result is one migration applied or rolled back.
type Result struct {
	Version   int64
	Source    string // file name, e.g. "00002_indexes.sql"
	Direction string // "up" or "down"
	Duration  time.Duration
	Empty     bool // the migration had no statements in this direction (still versioned)
	// Cluster is the name of the cluster the migration ran on, given by [WithCluster]
	// (datalayer's Manager gives it when it has several clusters); "" without it.
	Cluster string
}

// Status is the state of one known migration.
type Status struct {
	Version   int64
	Source    string    // file name
	Applied   bool      // false: pending
	AppliedAt time.Time // zero when pending
}

// Option configures a [Runner]; an option may reject its argument.
type Option func(*config) error

type config struct {
	fsys        fs.FS
	logger      *slog.Logger
	lockTimeout time.Duration
	cluster     string
}

// WithFS hands the migrations to run: fsys's root holds the NNNNN_name.sql files (for an
// embed.FS of a directory, pass fs.Sub(efs, "dir")). Required.
func WithFS(fsys fs.FS) Option {
	return func(c *config) error {
		if fsys == nil {
			return errors.New("migrations: WithFS: nil fs.FS")
		}
		c.fsys = fsys
		return nil
	}
}

// WithLogger logs each migration run (goose's structured records): each migration applied at
// INFO, each statement and "no migrations to run" at DEBUG. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("migrations: WithLogger: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// WithLockTimeout sets how long a runner waits for another runner's advisory lock; the lock
// is retried once a second. Default 5 minutes; at least 1 second.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("migrations: WithLockTimeout: %v is less than 1s", d)
		}
		c.lockTimeout = d
		return nil
	}
}

// WithCluster labels every [Result] of the runner with the name of the cluster its database
// belongs to (Result.Cluster), so that the results of several databases stay told apart.
// Default: no label.
func WithCluster(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("migrations: WithCluster: empty name")
		}
		c.cluster = name
		return nil
	}
}

// Runner applies migrations to one database. It is safe for concurrent use; calls on one
// Runner run one at a time, and Runners in other processes wait for the advisory lock.
type Runner struct {
	db       *sql.DB
	provider *goose.Provider
	cluster  string // Result.Cluster
	closed   atomic.Bool
}

// New returns a Runner of the migrations handed with [WithFS] (none: [ErrNoMigrations]) for
// db, which must allow at least 2 open connections (see
// [ErrPoolTooSmall]). The Runner does not own db: [Runner.Close] leaves it open.
func New(db *sql.DB, opts ...Option) (*Runner, error) {
	if db == nil {
		return nil, errors.New("migrations: nil *sql.DB")
	}
	cfg := config{lockTimeout: 5 * time.Minute}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.fsys == nil {
		return nil, fmt.Errorf("%w: no fs.FS handed (WithFS)", ErrNoMigrations)
	}
	if err := checkPool(db); err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockTimeout(1, uint64(cfg.lockTimeout/time.Second)),
		lock.WithUnlockTimeout(1, 60),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: session locker: %w", err)
	}
	popts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithTableName(VersionTable),
		goose.WithDisableGlobalRegistry(true), // no goose globals: only the files in fsys
	}
	if cfg.logger != nil {
		popts = append(popts, goose.WithSlog(slog.New(demote{cfg.logger.Handler()})), goose.WithVerbose(true))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, cfg.fsys, popts...)
	if err != nil {
		if errors.Is(err, goose.ErrNoMigrations) {
			// goose's error says the same words again: say what was looked for instead.
			return nil, fmt.Errorf("%w (no NNNNN_name.sql file)", ErrNoMigrations)
		}
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Runner{db: db, provider: p, cluster: cfg.cluster}, nil
}

// Up applies every pending migration in version order, each in its own transaction, and returns
// those it applied. If one fails, it returns the ones applied before it and an error naming the
// failed file; that migration's changes are rolled back.
func (r *Runner) Up(ctx context.Context) ([]Result, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	res, err := r.provider.Up(ctx)
	if err != nil {
		var pe *goose.PartialError
		if errors.As(err, &pe) {
			return r.results(pe.Applied), partialErr("up", pe)
		}
		return nil, fmt.Errorf("migrations: up: %w", err)
	}
	return r.results(res), nil
}

// Down rolls back the most recently applied migration. It returns [ErrNothingToRollBack] when
// none is applied.
func (r *Runner) Down(ctx context.Context) (Result, error) {
	if err := r.check(); err != nil {
		return Result{}, err
	}
	res, err := r.provider.Down(ctx)
	if err != nil {
		var pe *goose.PartialError
		switch {
		case errors.Is(err, goose.ErrNoNextVersion):
			return Result{}, fmt.Errorf("%w: %w", ErrNothingToRollBack, err)
		case errors.As(err, &pe):
			return Result{}, partialErr("down", pe)
		}
		return Result{}, fmt.Errorf("migrations: down: %w", err)
	}
	return r.result(res), nil
}

// Status returns every known migration in version order with whether it is applied. Like Up
// and Down it takes the advisory lock, so it waits while another runner is migrating.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	st, err := r.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{
			Version:   s.Source.Version,
			Source:    path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Pending returns how many known migrations are not applied.
func (r *Runner) Pending(ctx context.Context) (int, error) {
	st, err := r.Status(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

// Close marks the Runner closed; later calls return [ErrClosed]. It does NOT close the *sql.DB
// given to [New]: the caller owns it (goose's Provider.Close would close it, so it is not called).
func (r *Runner) Close() error {
	r.closed.Store(true)
	return nil
}

func (r *Runner) check() error {
	if r.closed.Load() {
		return ErrClosed
	}
	return checkPool(r.db)
}

func checkPool(db *sql.DB) error {
	if db.Stats().MaxOpenConnections == 1 {
		return ErrPoolTooSmall
	}
	return nil
}

func partialErr(direction string, pe *goose.PartialError) error {
	src := "unknown"
	var version int64
	if pe.Failed != nil && pe.Failed.Source != nil {
		src, version = path.Base(pe.Failed.Source.Path), pe.Failed.Source.Version
	}
	return fmt.Errorf("migrations: %s: %s (version %d) failed: %w", direction, src, version, pe)
}

func (r *Runner) results(in []*goose.MigrationResult) []Result {
	out := make([]Result, 0, len(in))
	for _, res := range in {
		out = append(out, r.result(res))
	}
	return out
}

func (r *Runner) result(res *goose.MigrationResult) Result {
	if res == nil || res.Source == nil {
		return Result{}
	}
	return Result{
		Version:   res.Source.Version,
		Source:    path.Base(res.Source.Path),
		Direction: res.Direction,
		Duration:  res.Duration,
		Empty:     res.Empty,
		Cluster:   r.cluster,
	}
}
