package repos_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/repos"
)

// benchRow is the four-column model of the bulk-load benchmark.
type benchRow struct {
	ID        uint
	Name      string `gorm:"not null"`
	Score     float64
	CreatedAt time.Time
}

const benchRows = 100_000

// BenchmarkBulkLoad loads 100,000 rows three ways in the same run: GORM's
// CreateInBatches(1000), CreateMany (COPY), and raw pgx CopyFrom. Each
// iteration runs all three, interleaved, so that a busy machine slows them
// alike; it reports the seconds per load of each and CreateMany's time over
// CopyFrom's. It runs only with -bench (the cluster starts on first use), on
// a database with asynchronous commits, emptying the table before each load.
//
//	go test -run '^$' -bench BulkLoad -benchtime 10x ./repos/
func BenchmarkBulkLoad(b *testing.B) {
	m := newManager(b, func(c *datalayer.Config) { c.Database = asyncDB })
	ctx := testCtx(b)
	r := repos.New[benchRow](m.DB())
	sqlDB, err := m.Conn(ctx, datalayer.Batch).DB()
	require.NoError(b, err)
	ways := []struct {
		name string
		load func([]benchRow) error
	}{
		{"gorm-s/load", func(data []benchRow) error { return m.Conn(ctx, datalayer.Batch).CreateInBatches(&data, 1000).Error }},
		{"createmany-s/load", func(data []benchRow) error { return r.CreateMany(ctx, data) }},
		{"copyfrom-s/load", func(data []benchRow) error { return rawCopy(ctx, sqlDB.Conn, data) }},
	}
	spent := make([]time.Duration, len(ways))
	for b.Loop() {
		for i, w := range ways {
			b.StopTimer()
			require.NoError(b, m.Conn(ctx, datalayer.ReadWrite).Exec("TRUNCATE bench_rows").Error)
			data := make([]benchRow, benchRows)
			for j := range data {
				data[j] = benchRow{Name: fmt.Sprintf("row %d", j), Score: float64(j) / 3}
			}
			b.StartTimer()
			start := time.Now()
			require.NoError(b, w.load(data))
			spent[i] += time.Since(start)
			b.StopTimer()
			var n int64
			require.NoError(b, m.Conn(ctx, datalayer.ReadWrite).Model(&benchRow{}).Count(&n).Error)
			require.EqualValues(b, benchRows, n, w.name)
			b.StartTimer()
		}
	}
	for i, w := range ways {
		b.ReportMetric(spent[i].Seconds()/float64(b.N), w.name)
	}
	b.ReportMetric(float64(spent[1])/float64(spent[2]), "createmany/copyfrom")
}

// rawCopy is the baseline: pgx CopyFrom reading the struct fields directly.
func rawCopy(ctx context.Context, connect func(context.Context) (*sql.Conn, error), data []benchRow) error {
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		now := time.Now()
		_, err := dc.(interface{ Conn() *pgx.Conn }).Conn().CopyFrom(ctx, pgx.Identifier{"bench_rows"}, []string{"name", "score", "created_at"},
			pgx.CopyFromSlice(len(data), func(i int) ([]any, error) {
				data[i].CreatedAt = now
				return []any{data[i].Name, data[i].Score, data[i].CreatedAt}, nil
			}))
		return err
	})
}
