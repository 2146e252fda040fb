package tests

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

type instItem struct {
	ID   int64
	Name string
}

// writeThenRead writes a row and reads it back at once, both with a plain
// context (as code that knows nothing of read-your-writes does), n times,
// and returns how many reads missed the row.
func writeThenRead(t *testing.T, ctx context.Context, m *datalayer.Manager, n int) (stale int) {
	t.Helper()
	for i := range n {
		it := instItem{Name: fmt.Sprint("row-", i)}
		require.NoError(t, stmt(t, ctx, "insert", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).Create(&it).Error
		}))
		var got instItem
		err := stmt(t, ctx, "read it back", func(ctx context.Context) error {
			return m.DB().WithContext(ctx).First(&got, it.ID).Error
		})
		if errors.Is(err, gorm.ErrRecordNotFound) {
			stale++
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, it.Name, got.Name)
	}
	return stale
}

// With read_your_writes_scope: instance, a plain-context read right after a
// write sees it even though every replica applies commits 2 s late; with
// the default scope, the same reads miss it.
func TestInstanceReadYourWritesSeesEveryWriteOfTheManager(t *testing.T) {
	ctx := testCtx(t)
	opts := pgcluster.DefaultOptions()
	opts.Settings = map[string]string{"recovery_min_apply_delay": "2s"}
	c := startCluster(t, opts)
	instance := newManager(t, c, func(cfg *datalayer.Config) {
		haConfig(cfg)
		cfg.ReadYourWritesScope = datalayer.ReadYourWritesInstance
	})
	require.NoError(t, migrate(t, ctx, instance, &instItem{}))
	waitReplicated(t, c, c.Node("primary"))

	assert.Zero(t, writeThenRead(t, ctx, instance, 20), "stale reads with read_your_writes_scope: instance")

	plain := newManager(t, c, haConfig)
	waitReplicated(t, c, c.Node("primary"))
	require.Eventually(t, func() bool {
		return servedByModelRead(t, plain.DB().WithContext(ctx), &instItem{}) != c.Node("primary").Port()
	}, 10*time.Second, 50*time.Millisecond, "the replicas are in rotation")
	assert.Positive(t, writeThenRead(t, ctx, plain, 20), "the default scope reads the lagging replicas")

	// Reads still use the replicas once they replayed the Manager's writes.
	waitReplicated(t, c, c.Node("primary"))
	require.Eventually(t, func() bool {
		return servedByModelRead(t, instance.DB().WithContext(ctx), &instItem{}) != c.Node("primary").Port()
	}, 10*time.Second, 50*time.Millisecond, "replicas serve reads again once they have the writes")
}
