package repos_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/repos"
)

// FindOne is the generic lookup typed repositories build on: one row
// matching every filter, ErrNotFound when none, ErrInvalidArgument for a
// filter on no field.
func TestFindOne(t *testing.T) {
	m := newManager(t, nil)
	ctx := datalayer.WithReadYourWrites(testCtx(t))
	items := repos.New[pageItem](m.DB())
	p := unique(t)
	require.NoError(t, items.CreateMany(ctx, []pageItem{{Batch: p, N: 1}, {Batch: p, N: 2}}))

	got, err := items.FindOne(ctx, repos.Eq("Batch", p), repos.Eq("N", 2))
	require.NoError(t, err)
	assert.Equal(t, 2, got.N)

	_, err = items.FindOne(ctx, repos.Eq("Batch", p), repos.Eq("N", 3))
	require.ErrorIs(t, err, repos.ErrNotFound)
	var re *repos.Error
	require.True(t, errors.As(err, &re))
	assert.Equal(t, "find_one", re.Op)

	_, err = items.FindOne(ctx, repos.Eq("NoSuchField", 1))
	require.ErrorIs(t, err, repos.ErrInvalidArgument)
}
