package repos_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/repos"
)

// CreateMany through COPY: a failing row in the middle leaves no row behind;
// a good load fills timestamps on the rows but not generated keys.
func TestCreateManyCopy(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	users := promptimprover.NewUserRepository(m.DB())
	p := unique(t)
	rows := func(n int) []models.User {
		out := make([]models.User, n)
		for i := range out {
			out[i] = models.User{Name: fmt.Sprint(i), Email: fmt.Sprintf("%s%d@example.com", p, i), Active: i%2 == 0}
		}
		return out
	}

	bad := rows(1000)
	bad[500].Email = bad[10].Email
	err := users.CreateMany(ctx, bad)
	repoError(t, err, repos.ErrDuplicate)
	n, err := users.Count(ctx, repos.Like("Email", p+"%"))
	require.NoError(t, err)
	assert.Zero(t, n, "a failed COPY leaves nothing behind")

	start := time.Now().Add(-time.Second)
	good := rows(1000)
	require.NoError(t, users.CreateMany(ctx, good))
	n, err = users.Count(ctx, repos.Like("Email", p+"%"))
	require.NoError(t, err)
	assert.EqualValues(t, 1000, n)
	for _, u := range good {
		require.Zero(t, u.ID, "the COPY path does not fill generated keys")
		require.True(t, u.CreatedAt.After(start) && u.UpdatedAt.Equal(u.CreatedAt), "timestamps are set on the rows")
	}
	got, err := users.FindByEmail(ctx, good[999].Email)
	require.NoError(t, err)
	assert.Equal(t, "999", got.Name)
	assert.False(t, got.Active)
	assert.WithinDuration(t, good[999].CreatedAt, got.CreatedAt, time.Millisecond)
}

// CreateMany through INSERTs (a model with a BeforeCreate hook), several
// chunks in one transaction: a failing row in a later chunk leaves no row of
// the earlier chunks behind.
func TestCreateManyInsert(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	items := repos.New[hookedItem](m.DB(), repos.WithBatchSize(1000))
	p := unique(t)
	rows := func(n int) []hookedItem {
		out := make([]hookedItem, n)
		for i := range out {
			out[i] = hookedItem{Name: fmt.Sprintf("%s%d", p, i)}
		}
		return out
	}

	bad := rows(2500)
	bad[1500].Name = bad[5].Name
	err := items.CreateMany(ctx, bad)
	re := repoError(t, err, repos.ErrDuplicate)
	assert.Equal(t, "idx_hooked_items_name", re.Constraint)
	assert.True(t, bad[999].Hooked, "the first chunk went through GORM's Create")
	n, err := items.Count(ctx, repos.Like("Name", p+"%"))
	require.NoError(t, err)
	assert.Zero(t, n, "the first chunk was rolled back")

	good := rows(2500)
	require.NoError(t, items.CreateMany(ctx, good))
	n, err = items.Count(ctx, repos.Like("Name", p+"%"))
	require.NoError(t, err)
	assert.EqualValues(t, 2500, n)
	ids := map[uint]bool{}
	for _, it := range good {
		require.True(t, it.Hooked)
		require.NotZero(t, it.ID, "the INSERT path fills generated keys")
		ids[it.ID] = true
	}
	assert.Len(t, ids, 2500)
	got, err := items.Get(ctx, good[2499].ID)
	require.NoError(t, err)
	assert.Equal(t, good[2499].Name, got.Name)
}

// Rows that set an association take the INSERT path: GORM saves it.
func TestCreateManyWithAssociations(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	prompts := promptimprover.NewPromptRepository(m.DB())
	p := unique(t)
	rows := []models.Prompt{
		{Title: "a", Body: "b", User: &models.User{Name: "owner", Email: p + "owner@example.com"}},
	}
	require.NoError(t, prompts.CreateMany(ctx, rows))
	require.NotZero(t, rows[0].UserID)
	owner, err := promptimprover.NewUserRepository(m.DB()).FindByEmail(ctx, p+"owner@example.com")
	require.NoError(t, err)
	assert.Equal(t, owner.ID, rows[0].UserID)
}
