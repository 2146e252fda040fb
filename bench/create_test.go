package bench

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
)

// created numbers the users the Create benchmarks insert: every email is new
// (users.email is unique) across rounds and both sides of a pair.
var created atomic.Int64

// createOne runs Create(&user) of one new user at a time on the *gorm.DB
// that conn returns for each insert.
func createOne(b *testing.B, conn func(ctx context.Context) *gorm.DB) {
	b.Helper()
	ctx := context.Background()
	prefix := "bench-" + strconv.Itoa(os.Getpid()) + "-"
	now := time.Now()
	user := func() models.User {
		n := created.Add(1)
		return models.User{Name: "Bench", Email: prefix + strconv.FormatInt(n, 10) + "@example.test", Active: true, CreatedAt: now, UpdatedAt: now}
	}
	// Warm up: a connection, the prepared statement, the schema cache.
	u := user()
	if err := conn(ctx).Create(&u).Error; err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		u = user() // the same on both sides of the pair: it cancels out
		if err := conn(ctx).Create(&u).Error; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if u.ID == 0 {
		b.Fatal("no id returned")
	}
}

// BenchmarkCreate compares a single-row Create through the Manager (Auto:
// the primary's write pool; one INSERT, since GORM would run one statement
// and the plugin skips its BEGIN/COMMIT, plugin/onestatement.go) with plain
// GORM on the same primary and the same pool settings, with GORM's default
// transaction (BEGIN, INSERT, COMMIT: three round trips).
func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	m, err := newManager(ctx, cluster)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	primaryDB, err := openGORM(cluster.Node("primary"))
	if err != nil {
		b.Fatal(err)
	}
	defer closeGORM(primaryDB)
	if primaryDB.SkipDefaultTransaction {
		b.Fatal("plain GORM must keep its default transaction")
	}
	for round := range max(*rounds, 1) {
		runPair(b, round, "create_primary",
			func(b *testing.B) {
				createOne(b, func(ctx context.Context) *gorm.DB { return m.DB().WithContext(ctx) })
			},
			func(b *testing.B) {
				createOne(b, func(ctx context.Context) *gorm.DB { return primaryDB.WithContext(ctx) })
			})
	}
}
