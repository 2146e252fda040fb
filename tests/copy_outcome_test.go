package tests

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/repos"
)

type copyRow struct {
	ID  int64
	Tag string
}

// repos.CreateMany's COPY goes through the plugin like any write: a
// connection lost once the load may have been sent is ErrOutcomeUnknown,
// never a plain error a caller would retry into duplicate rows, and the rows
// are there all or not at all.
func TestCreateManyCopyLostConnectionIsOutcomeUnknown(t *testing.T) {
	ctx := testCtx(t)
	c := startCluster(t, pgcluster.Options{})
	proxies, via := behindProxies(t, c)
	m := newManager(t, c, func(cfg *datalayer.Config) {
		via(cfg)
		cfg.EnableHealthChecks = false // no probe traffic on the cut links
	})
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&copyRow{}))
	repo := repos.New[copyRow](m.DB())
	require.NoError(t, repo.CreateMany(ctx, []copyRow{{Tag: "warm"}, {Tag: "warm"}})) // opens the Batch connection

	// Cut the reply stream of the load's connection every 5 bytes
	// through BEGIN, COPY and COMMIT: each run ends as success (the rows
	// exactly once) or ErrOutcomeUnknown (all or none), never as another
	// error, and never twice.
	unknown := 0
	for cut := int64(0); cut <= 120; cut += 5 {
		tag := fmt.Sprint("cut-", cut)
		rows := make([]copyRow, 200)
		for i := range rows {
			rows[i].Tag = tag
		}
		// An open Batch connection to cut. Idle ones a former cut armed fail
		// first: try until one load goes through.
		var werr error
		for range 10 {
			if werr = repo.CreateMany(ctx, []copyRow{{Tag: "warm"}}); werr == nil {
				break
			}
		}
		require.NoError(t, werr)
		proxies["primary"].CutRepliesAfter(cut)
		err := stmt(t, ctx, "CreateMany", func(ctx context.Context) error { return repo.CreateMany(ctx, rows) })
		var n int64
		require.NoError(t, stmt(t, ctx, "count", func(ctx context.Context) error {
			return m.Conn(ctx, datalayer.ReadWrite).Model(&copyRow{}).Where("tag = ?", tag).Count(&n).Error
		}))
		switch {
		case err == nil:
			assert.EqualValues(t, len(rows), n, "cut %d: acknowledged, so exactly once", cut)
		case errors.Is(err, datalayer.ErrOutcomeUnknown):
			unknown++
			assert.Contains(t, []int64{0, int64(len(rows))}, n, "cut %d: all or nothing", cut)
		default:
			t.Errorf("cut %d: a plain error a caller would retry (%d rows are there): %v", cut, n, err)
		}
	}
	assert.Positive(t, unknown, "some cut fell after the load was sent")
}
