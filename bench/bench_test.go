package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/models"
)

// rows is how many users the point selects pick from.
const rows = 10_000

// rounds runs every pair this many times, interleaved (manager, gorm, gorm,
// manager...), so that a slow patch of a busy machine hits both sides of a
// pair alike. go test -bench PointSelect ./bench -args -rounds=15
var rounds = flag.Int("rounds", 1, "rounds of every benchmark pair, interleaved")

// cluster is the package's cluster: a primary and one replica, so the node
// an Auto read goes to is known. nil when no benchmark runs.
var cluster *pgcluster.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run()) // no benchmark asked for: no cluster
	}
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Replicas: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: starting the local cluster:", err)
		return 1
	}
	defer c.Close()
	if err := fill(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench: filling the users table:", err)
		return 1
	}
	cluster = c
	return m.Run()
}

// fill creates the users table with rows users and waits until the replica
// has replayed them.
func fill(ctx context.Context, c *pgcluster.Cluster) error {
	primary, replica := c.Node("primary"), c.Node("replica1")
	m, err := newManager(ctx, c)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.DB().WithContext(ctx).AutoMigrate(&models.User{}); err != nil {
		return err
	}
	if err := primary.Exec(ctx, `INSERT INTO users (name, email, active, created_at, updated_at)
		SELECT 'User ' || g, 'user' || g || '@example.test', g % 3 <> 0, now(), now()
		FROM generate_series(1, $1::int) g`, rows); err != nil {
		return err
	}
	if err := primary.Exec(ctx, "ANALYZE users"); err != nil {
		return err
	}
	for {
		n, err := replica.QueryInt(ctx, "SELECT count(*) FROM users")
		if err == nil && n == rows {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("replica1 did not replay the users: %w", ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newManager opens a Manager on c (primary + replica1). Echo is off, as in
// production; the Manager's gorm logger is silent.
func newManager(ctx context.Context, c *pgcluster.Cluster) (*datalayer.Manager, error) {
	cfg := testenv.Config(c)
	return datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
}

// openGORM opens plain GORM on one node with the pool and pgx statement
// cache the Manager gives each of its pools (DefaultConfig: pool_size idle,
// pool_size+max_overflow open, pool_recycle, statement_cache_size prepared
// statements per connection).
func openGORM(n *pgcluster.Node) (*gorm.DB, error) {
	cfg := datalayer.DefaultConfig()
	dsn := fmt.Sprintf("%s application_name=%s statement_cache_capacity=%d description_cache_capacity=%d default_query_exec_mode=cache_statement",
		n.DSN(), cfg.ApplicationName, cfg.StatementCacheSize, cfg.PreparedStatementCacheSize)
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(cfg.PoolSize + cfg.MaxOverflow)
	sqlDB.SetMaxIdleConns(cfg.PoolSize)
	sqlDB.SetConnMaxLifetime(cfg.PoolRecycle)
	return db, nil
}

// pointSelect runs First(&u, id) over ids 1..rows in turn, on the *gorm.DB
// that conn returns for each query.
func pointSelect(b *testing.B, conn func(ctx context.Context) *gorm.DB) {
	b.Helper()
	ctx := context.Background()
	var u models.User
	// Warm up: a connection, the prepared statement, the schema cache.
	if err := conn(ctx).First(&u, 1).Error; err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	id := 0
	for b.Loop() {
		id = id%rows + 1
		u = models.User{}
		if err := conn(ctx).First(&u, id).Error; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if u.ID == 0 {
		b.Fatal("no row read")
	}
}

// BenchmarkPointSelect compares the Manager with plain GORM on the same
// node: Auto (the replica) and ReadWrite (the primary). Each pair is
// <case>/manager and <case>/gorm; bench/cmd/ratio reads them.
func BenchmarkPointSelect(b *testing.B) {
	ctx := context.Background()
	m, err := newManager(ctx, cluster)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	replicaDB, err := openGORM(cluster.Node("replica1"))
	if err != nil {
		b.Fatal(err)
	}
	defer closeGORM(replicaDB)
	primaryDB, err := openGORM(cluster.Node("primary"))
	if err != nil {
		b.Fatal(err)
	}
	defer closeGORM(primaryDB)

	cases := []struct {
		name    string
		manager func(ctx context.Context) *gorm.DB
		gorm    func(ctx context.Context) *gorm.DB
	}{
		{"auto_replica",
			func(ctx context.Context) *gorm.DB { return m.Conn(ctx, datalayer.Auto) },
			func(ctx context.Context) *gorm.DB { return replicaDB.WithContext(ctx) }},
		{"read_write_primary",
			func(ctx context.Context) *gorm.DB { return m.Conn(ctx, datalayer.ReadWrite) },
			func(ctx context.Context) *gorm.DB { return primaryDB.WithContext(ctx) }},
	}
	for round := range max(*rounds, 1) {
		for _, c := range cases {
			runPair(b, round, c.name,
				func(b *testing.B) { pointSelect(b, c.manager) },
				func(b *testing.B) { pointSelect(b, c.gorm) })
		}
	}
}

// runPair runs one round of a pair, <name>/manager and <name>/gorm
// (sub-benchmarks of the same name get a #NN suffix per round). Odd rounds
// run GORM first, so neither side always goes first.
func runPair(b *testing.B, round int, name string, manager, plain func(*testing.B)) {
	m := func() { b.Run(name+"/manager", manager) }
	g := func() { b.Run(name+"/gorm", plain) }
	if round%2 == 0 {
		m()
		g()
	} else {
		g()
		m()
	}
}

func closeGORM(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// TestServedByTheComparedNode checks the premise of the pairs: the Manager's
// Auto reads go to replica1 and its ReadWrite reads to the primary. It runs
// only with the benchmarks (it needs the cluster).
func TestServedByTheComparedNode(t *testing.T) {
	if cluster == nil {
		t.Skip("runs with the benchmarks: go test -bench . ./bench")
	}
	ctx := context.Background()
	m, err := newManager(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for mode, node := range map[datalayer.Mode]string{datalayer.Auto: "replica1", datalayer.ReadWrite: "primary"} {
		var port int
		if err := m.Conn(ctx, mode).Model(&models.User{}).Select("inet_server_port()").Limit(1).Scan(&port).Error; err != nil {
			t.Fatal(err)
		}
		if want := cluster.Node(node).Port(); port != want {
			t.Errorf("%s read served by port %d, want %s (%d)", mode, port, node, want)
		}
	}
}

// BenchmarkPointSelectBuild is BenchmarkPointSelect without the round trip:
// both sides are dry runs (GORM builds the statement, the plugin routes it,
// nothing is sent), so the pair measures what the Manager adds to GORM's own
// work with little of the machine's noise. Not part of make bench-select:
// go test -run '^$' -bench PointSelectBuild -benchmem ./bench
func BenchmarkPointSelectBuild(b *testing.B) {
	ctx := context.Background()
	cfg := testenv.Config(cluster)
	m, err := datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		datalayer.WithGormConfig(&gorm.Config{DryRun: true}))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	plain, err := openGORM(cluster.Node("primary"))
	if err != nil {
		b.Fatal(err)
	}
	defer closeGORM(plain)
	plain = plain.Session(&gorm.Session{DryRun: true})

	cases := []struct {
		name    string
		manager func(ctx context.Context) *gorm.DB
	}{
		{"auto", func(ctx context.Context) *gorm.DB { return m.Conn(ctx, datalayer.Auto) }},
		{"read_write", func(ctx context.Context) *gorm.DB { return m.Conn(ctx, datalayer.ReadWrite) }},
	}
	build := func(b *testing.B, conn func(ctx context.Context) *gorm.DB) {
		var u models.User
		if err := conn(ctx).First(&u, 1).Error; err != nil { // the schema cache
			b.Fatal(err)
		}
		b.ReportAllocs()
		id := 0
		for b.Loop() {
			id = id%rows + 1
			if err := conn(ctx).First(&u, id).Error; err != nil {
				b.Fatal(err)
			}
		}
	}
	for round := range max(*rounds, 1) {
		for _, c := range cases {
			runPair(b, round, c.name,
				func(b *testing.B) { build(b, c.manager) },
				func(b *testing.B) { build(b, func(ctx context.Context) *gorm.DB { return plain.WithContext(ctx) }) })
		}
	}
}
