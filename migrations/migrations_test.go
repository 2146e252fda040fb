package migrations_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/migrations"
)

// testdata holds the migrations of these tests: the package ships none.
var (
	testdata = os.DirFS("testdata")
	shipped  = []string{"00001_widgets.sql", "00002_index.sql", "00003_backfill.sql"}
)

// newRunner returns a runner of opts, of testdata when opts hand no fs.FS (a later WithFS wins).
func newRunner(t *testing.T, db *sql.DB, opts ...migrations.Option) *migrations.Runner {
	t.Helper()
	r, err := migrations.New(db, append([]migrations.Option{migrations.WithFS(testdata)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

func sources(rs []migrations.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Source
	}
	return out
}

func exists(t *testing.T, db *sql.DB, regclass string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, regclass).Scan(&ok))
	return ok
}

func TestUpStatusDown(t *testing.T) {
	ctx := context.Background()
	db := openSQL(t, freshDSN(t))
	var logs bytes.Buffer
	r := newRunner(t, db, migrations.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	n, err := r.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 3)
	for i, s := range st {
		require.Equal(t, int64(i+1), s.Version)
		require.Equal(t, shipped[i], s.Source)
		require.False(t, s.Applied)
		require.True(t, s.AppliedAt.IsZero())
	}

	res, err := r.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, shipped, sources(res))
	for _, x := range res {
		require.Equal(t, "up", x.Direction)
	}
	require.True(t, res[2].Empty == false && res[0].Empty == false)
	require.Contains(t, logs.String(), "00002_index.sql", "WithLogger receives goose's records")

	n, err = r.Pending(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	st, err = r.Status(ctx)
	require.NoError(t, err)
	for _, s := range st {
		require.True(t, s.Applied, s.Source)
		require.WithinDuration(t, time.Now(), s.AppliedAt, time.Hour)
	}
	require.True(t, exists(t, db, "widgets"))
	require.True(t, exists(t, db, "idx_widgets_active_name"))

	res, err = r.Up(ctx)
	require.NoError(t, err)
	require.Empty(t, res, "nothing left to apply")

	down, err := r.Down(ctx)
	require.NoError(t, err)
	require.Equal(t, migrations.Result{Version: 3, Source: "00003_backfill.sql", Direction: "down", Duration: down.Duration, Empty: true}, down)
	down, err = r.Down(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), down.Version)
	require.False(t, exists(t, db, "idx_widgets_active_name"))
	n, err = r.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	_, err = r.Down(ctx)
	require.NoError(t, err)
	_, err = r.Down(ctx)
	require.ErrorIs(t, err, migrations.ErrNothingToRollBack)

	res, err = r.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, shipped, sources(res), "down then up again")
}

func TestConcurrentRunnersApplyEachMigrationOnce(t *testing.T) {
	ctx := context.Background()
	dsn := freshDSN(t)
	const runners = 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []string
		errs    []error
	)
	start := make(chan struct{})
	for range runners {
		db := openSQL(t, dsn) // one *sql.DB per runner, as separate processes would have
		r := newRunner(t, db, migrations.WithLockTimeout(time.Minute))
		wg.Go(func() {
			<-start
			res, err := r.Up(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			applied = append(applied, sources(res)...)
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	require.ElementsMatch(t, shipped, applied, "each migration applied by exactly one runner")

	db := openSQL(t, dsn)
	rows, err := db.Query(`SELECT version_id, count(*) FROM ` + migrations.VersionTable + ` GROUP BY version_id ORDER BY version_id`)
	require.NoError(t, err)
	defer rows.Close()
	got := map[int64]int{}
	for rows.Next() {
		var v int64
		var c int
		require.NoError(t, rows.Scan(&v, &c))
		got[v] = c
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[int64]int{0: 1, 1: 1, 2: 1, 3: 1}, got)
}

func TestFailingMigrationIsRolledBackAndNamed(t *testing.T) {
	ctx := context.Background()
	db := openSQL(t, freshDSN(t))
	fsys := fstest.MapFS{
		"00001_first.sql": {Data: []byte(`-- +goose Up
CREATE TABLE first_ok (id int);
-- +goose Down
DROP TABLE first_ok;
`)},
		"00002_broken.sql": {Data: []byte(`-- +goose Up
CREATE TABLE half_done (id int);
INSERT INTO no_such_table VALUES (1);
-- +goose Down
DROP TABLE half_done;
`)},
		"00003_never.sql": {Data: []byte(`-- +goose Up
CREATE TABLE never (id int);
-- +goose Down
DROP TABLE never;
`)},
	}
	r := newRunner(t, db, migrations.WithFS(fsys))
	res, err := r.Up(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "00002_broken.sql")
	require.Contains(t, err.Error(), "no_such_table", "the server's reason is kept")
	require.Equal(t, []string{"00001_first.sql"}, sources(res), "what was applied before the failure")

	require.True(t, exists(t, db, "first_ok"))
	require.False(t, exists(t, db, "half_done"), "the failed migration left nothing behind")
	require.False(t, exists(t, db, "never"))

	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false}, []bool{st[0].Applied, st[1].Applied, st[2].Applied})
	n, err := r.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestPoolOfOneIsRefused(t *testing.T) {
	db := openSQL(t, freshDSN(t))
	db.SetMaxOpenConns(1)
	_, err := migrations.New(db, migrations.WithFS(testdata))
	require.ErrorIs(t, err, migrations.ErrPoolTooSmall)

	// Shrinking the pool after New is caught too.
	db.SetMaxOpenConns(2)
	r := newRunner(t, db)
	db.SetMaxOpenConns(1)
	_, err = r.Up(context.Background())
	require.ErrorIs(t, err, migrations.ErrPoolTooSmall)
}

func TestNewValidates(t *testing.T) {
	_, err := migrations.New(nil)
	require.Error(t, err)

	db, err := sql.Open("pgx", "host=127.0.0.1 port=1 user=nobody dbname=none sslmode=disable")
	require.NoError(t, err)
	defer db.Close()
	_, err = migrations.New(db, migrations.WithFS(fstest.MapFS{}))
	require.ErrorIs(t, err, migrations.ErrNoMigrations)
	_, err = migrations.New(db)
	require.ErrorIs(t, err, migrations.ErrNoMigrations, "none handed: the package has none of its own")
	require.ErrorContains(t, err, "WithFS")
	_, err = migrations.New(db, migrations.WithFS(nil))
	require.Error(t, err)
	_, err = migrations.New(db, migrations.WithLogger(nil))
	require.Error(t, err)
	_, err = migrations.New(db, migrations.WithLockTimeout(time.Millisecond))
	require.Error(t, err)
}

func TestClose(t *testing.T) {
	db := openSQL(t, freshDSN(t))
	r, err := migrations.New(db, migrations.WithFS(testdata))
	require.NoError(t, err)
	require.NoError(t, r.Close())
	_, err = r.Up(context.Background())
	require.ErrorIs(t, err, migrations.ErrClosed)
	require.NoError(t, db.Ping(), "Close leaves the caller's *sql.DB open")
}

// WithCluster labels every result, up and down; an empty name is refused.
func TestWithClusterLabelsResults(t *testing.T) {
	ctx := context.Background()
	db := openSQL(t, freshDSN(t))
	_, err := migrations.New(db, migrations.WithFS(testdata), migrations.WithCluster(""))
	require.ErrorContains(t, err, "WithCluster: empty name")

	r := newRunner(t, db, migrations.WithCluster("events"))
	res, err := r.Up(ctx)
	require.NoError(t, err)
	require.Len(t, res, 3)
	for _, x := range res {
		require.Equal(t, "events", x.Cluster, x.Source)
	}
	down, err := r.Down(ctx)
	require.NoError(t, err)
	require.Equal(t, "events", down.Cluster)

	plain := newRunner(t, db)
	res, err = plain.Up(ctx)
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.Empty(t, res[0].Cluster, "no label without WithCluster")
}
