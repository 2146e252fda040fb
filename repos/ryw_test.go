package repos_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/repos"
)

// With a read-your-writes context, Get right after Create sees the row, even
// with both replicas behind (replay paused, asynchronous commits) — after
// Create and after CreateMany's COPY, which bypasses the plugin.
func TestGetAfterCreateReadsYourWrites(t *testing.T) {
	c := testCluster(t)
	m := newManager(t, func(cfg *datalayer.Config) { cfg.Database = asyncDB })
	ctx := testCtx(t)
	users := promptimprover.NewUserRepository(m.DB())
	p := unique(t)
	for _, r := range c.Nodes()[1:] {
		require.NoError(t, r.PauseReplay(ctx))
		t.Cleanup(func() { _ = r.ResumeReplay(context.Background()) })
	}

	rctx := datalayer.WithReadYourWrites(ctx)
	u := models.User{Name: "ryw", Email: p + "ryw@example.com", Active: true}
	require.NoError(t, users.Create(rctx, &u))

	_, err := users.Get(ctx, u.ID)
	assert.ErrorIs(t, err, repos.ErrNotFound, "without read-your-writes the paused replicas answer")

	got, err := users.Get(rctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.Email, got.Email)

	require.NoError(t, users.CreateMany(rctx, []models.User{{Name: "copied", Email: p + "copied@example.com"}}))
	got, err = users.FindByEmail(rctx, p+"copied@example.com")
	require.NoError(t, err)
	assert.Equal(t, "copied", got.Name)
}
