package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/models"
)

// BenchmarkReadConsistency measures what read_your_writes_scope: instance
// costs against the default (context) scope, with plain contexts: one op is
// a Create on the primary followed by reads of rows by id (Auto), or reads
// only. With the instance scope the first read after a write asks the
// primary for its WAL position and reads only a replica that replayed it
// (asking it, waiting up to read_your_writes_timeout) or the primary; with
// the default scope it reads the replica at once, possibly stale.
//
//	go test -run '^$' -bench ReadConsistency -benchtime 2s ./bench
func BenchmarkReadConsistency(b *testing.B) {
	ctx := context.Background()
	scopes := []string{datalayer.ReadYourWritesContext, datalayer.ReadYourWritesInstance}
	managers := map[string]*datalayer.Manager{}
	for _, s := range scopes {
		cfg := testenv.Config(cluster)
		cfg.ReadYourWritesScope = s
		m, err := datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		managers[s] = m
	}
	cases := []struct {
		name   string
		writes bool
		reads  int
	}{
		{"write_then_read", true, 1},
		{"write_then_10_reads", true, 10},
		{"reads_only", false, 1},
	}
	prefix := "consistency-" + strconv.Itoa(os.Getpid()) + "-"
	for round := range max(*rounds, 1) {
		for _, c := range cases {
			order := scopes
			if round%2 == 1 {
				order = []string{scopes[1], scopes[0]}
			}
			for _, s := range order {
				m := managers[s]
				b.Run(c.name+"/"+s, func(b *testing.B) {
					b.ReportAllocs()
					id := uint(1)
					for b.Loop() {
						if c.writes {
							n := created.Add(1)
							now := time.Now()
							u := models.User{Name: "Bench", Email: prefix + strconv.FormatInt(n, 10) + "@example.test", CreatedAt: now, UpdatedAt: now}
							if err := m.DB().WithContext(ctx).Create(&u).Error; err != nil {
								b.Fatal(err)
							}
						}
						for range c.reads {
							var u models.User
							id = id%rows + 1
							if err := m.DB().WithContext(ctx).First(&u, id).Error; err != nil {
								b.Fatal(err)
							}
						}
					}
				})
			}
		}
	}
}
