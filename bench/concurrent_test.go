package bench

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
)

// workers is how many goroutines run statements at once in the concurrent
// pairs: more than the machine's cores, unpaced, so that the client's CPU
// per statement (not the round trip) decides the throughput.
const workers = 8

// parallel runs op from workers goroutines (b.RunParallel) with GOMAXPROCS
// left at the machine's cores, and reports beside ns/op (wall time per
// statement, so ops/s = 1e9/ns) the client's CPU time per statement:
// process CPU time (user + system, every goroutine of the process, the
// Manager's background ones too) over the statements. The server is
// another process: its CPU is not counted.
func parallel(b *testing.B, op func(ctx context.Context, id int) error) {
	b.Helper()
	ctx := context.Background()
	if err := op(ctx, 1); err != nil { // warm up: a connection, the statement, the schema cache
		b.Fatal(err)
	}
	b.SetParallelism((workers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	var next atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := int(next.Add(1)%rows) + 1
			if err := op(ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkConcurrent is the pairs of BenchmarkPointSelect and
// BenchmarkCreate, plus a small transaction, run by workers goroutines at
// once: what a statement costs the client when the machine is busy. The
// client and the servers share the machine's cores, as in most small
// deployments and every CI runner. Pairs are <case>/manager and
// <case>/gorm, interleaved over -rounds; bench/cmd/ratio reads them.
//
//	go test -run '^$' -bench '^BenchmarkConcurrent$' -benchmem -benchtime 1s ./bench -args -rounds=5 | go run ./bench/cmd/ratio
func BenchmarkConcurrent(b *testing.B) {
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

	selectBy := func(conn func(ctx context.Context) *gorm.DB) func(context.Context, int) error {
		return func(ctx context.Context, id int) error {
			var u models.User
			return conn(ctx).First(&u, id).Error
		}
	}
	prefix := "conc-" + strconv.Itoa(os.Getpid()) + "-"
	now := time.Now()
	create := func(db func(ctx context.Context) *gorm.DB) func(context.Context, int) error {
		return func(ctx context.Context, _ int) error {
			u := models.User{Name: "Bench", Email: prefix + strconv.FormatInt(created.Add(1), 10) + "@example.test",
				Active: true, CreatedAt: now, UpdatedAt: now}
			return db(ctx).Create(&u).Error
		}
	}
	// A small transaction: read a user, then update it (BEGIN, SELECT,
	// UPDATE, COMMIT). Every worker takes the next id, so two rarely wait
	// for the same row's lock.
	txn := func(db func(ctx context.Context) *gorm.DB) func(context.Context, int) error {
		return func(ctx context.Context, id int) error {
			return db(ctx).Transaction(func(tx *gorm.DB) error {
				var u models.User
				if err := tx.First(&u, id).Error; err != nil {
					return err
				}
				return tx.Model(&u).Update("active", !u.Active).Error
			})
		}
	}
	mgr := func(mode datalayer.Mode) func(ctx context.Context) *gorm.DB {
		return func(ctx context.Context) *gorm.DB { return m.Conn(ctx, mode) }
	}
	on := func(db *gorm.DB) func(ctx context.Context) *gorm.DB {
		return func(ctx context.Context) *gorm.DB { return db.WithContext(ctx) }
	}
	cases := []struct {
		name          string
		manager, gorm func(context.Context, int) error
	}{
		{"point_select_auto_replica", selectBy(mgr(datalayer.Auto)), selectBy(on(replicaDB))},
		{"point_select_read_write_primary", selectBy(mgr(datalayer.ReadWrite)), selectBy(on(primaryDB))},
		{"create_primary", create(mgr(datalayer.Auto)), create(on(primaryDB))},
		{"transaction_primary", txn(mgr(datalayer.Auto)), txn(on(primaryDB))},
	}
	for round := range max(*rounds, 1) {
		for _, c := range cases {
			runPair(b, round, c.name,
				func(b *testing.B) { parallel(b, c.manager) },
				func(b *testing.B) { parallel(b, c.gorm) })
		}
	}
}
