package repos_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/repos"
)

// repoError asserts that err is a *repos.Error wrapping kind and carrying no
// driver error, and returns it.
func repoError(t *testing.T, err error, kind error) *repos.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind)
	var re *repos.Error
	require.ErrorAs(t, err, &re)
	var pgErr *pgconn.PgError
	assert.False(t, errors.As(err, &pgErr), "a driver error leaked: %v", err)
	return re
}

func TestErrorTranslation(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	users, prompts := promptimprover.NewUserRepository(m.DB()), promptimprover.NewPromptRepository(m.DB())
	strict := repos.New[strictItem](m.DB())
	p := unique(t)

	t.Run("not found", func(t *testing.T) {
		_, err := users.Get(ctx, uint(1<<31-1))
		re := repoError(t, err, repos.ErrNotFound)
		assert.Equal(t, "get", re.Op)
		assert.Equal(t, "users", re.Table)
		assert.NotErrorIs(t, err, gorm.ErrRecordNotFound)
		_, err = users.FindByEmail(ctx, p+"nobody@example.com")
		repoError(t, err, repos.ErrNotFound)
	})
	t.Run("duplicate names the constraint", func(t *testing.T) {
		require.NoError(t, users.Create(ctx, &models.User{Name: "a", Email: p + "dup@example.com"}))
		err := users.Create(ctx, &models.User{Name: "b", Email: p + "dup@example.com"})
		re := repoError(t, err, repos.ErrDuplicate)
		assert.Equal(t, "idx_users_email", re.Constraint)
		assert.Equal(t, "23505", re.SQLState)
		assert.Contains(t, err.Error(), "idx_users_email")
		assert.NotErrorIs(t, err, repos.ErrConstraint)

		// The same through COPY.
		err = users.CreateMany(ctx, []models.User{{Name: "c", Email: p + "dup@example.com"}})
		re = repoError(t, err, repos.ErrDuplicate)
		assert.Equal(t, "idx_users_email", re.Constraint)
	})
	t.Run("foreign key", func(t *testing.T) {
		err := prompts.Create(ctx, &models.Prompt{UserID: 1<<31 - 1, Title: "t", Body: "b"})
		re := repoError(t, err, repos.ErrConstraint)
		assert.Equal(t, "23503", re.SQLState)
		assert.NotEmpty(t, re.Constraint)
		assert.Contains(t, err.Error(), re.Constraint)
	})
	t.Run("not null", func(t *testing.T) {
		err := strict.Create(ctx, &strictItem{Qty: 1})
		re := repoError(t, err, repos.ErrConstraint)
		assert.Equal(t, "23502", re.SQLState)
		assert.Equal(t, "name", re.Column)
	})
	t.Run("check", func(t *testing.T) {
		name := "x"
		err := strict.Create(ctx, &strictItem{Name: &name, Qty: 0})
		re := repoError(t, err, repos.ErrConstraint)
		assert.Equal(t, "23514", re.SQLState)
		assert.Equal(t, "chk_strict_items_qty", re.Constraint)
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := users.Get(cctx, uint(1))
		assert.ErrorIs(t, err, context.Canceled)
		_, err = users.List(cctx, repos.ListOptions{})
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, users.Create(cctx, &models.User{Name: "x", Email: p + "cancel@example.com"}), context.Canceled)
		assert.ErrorIs(t, users.CreateMany(cctx, []models.User{{Name: "x", Email: p + "cancel2@example.com"}}), context.Canceled)
		assert.ErrorIs(t, repos.New[hookedItem](m.DB()).CreateMany(cctx, []hookedItem{{Name: p}}), context.Canceled)
	})
	t.Run("read-only transaction", func(t *testing.T) {
		err := m.Conn(ctx, datalayer.ReadOnly).Transaction(func(tx *gorm.DB) error {
			return users.WithTx(tx).Create(ctx, &models.User{Name: "ro", Email: p + "ro@example.com"})
		})
		repoError(t, err, datalayer.ErrReadOnly)
	})
	t.Run("closed manager", func(t *testing.T) {
		m2 := newManager(t, nil)
		closed := promptimprover.NewUserRepository(m2.DB())
		require.NoError(t, m2.Close())
		_, err := closed.Get(ctx, uint(1))
		repoError(t, err, datalayer.ErrClosed)
		repoError(t, closed.CreateMany(ctx, []models.User{{Name: "x", Email: p + "closed@example.com"}}), datalayer.ErrClosed)
	})
	t.Run("invalid arguments", func(t *testing.T) {
		_, err := users.List(ctx, repos.ListOptions{Filters: []repos.Filter{repos.Eq("name; DROP TABLE users", 1)}})
		repoError(t, err, repos.ErrInvalidArgument)
		_, err = users.List(ctx, repos.ListOptions{Page: repos.Page{AfterID: 1, Offset: 10}})
		repoError(t, err, repos.ErrInvalidArgument)
		_, err = users.List(ctx, repos.ListOptions{Order: []repos.Order{repos.Asc("Name")}, Page: repos.Page{AfterID: 1}})
		repoError(t, err, repos.ErrInvalidArgument)
		repoError(t, users.Update(ctx, &models.User{Name: "no key"}), repos.ErrInvalidArgument)
		repoError(t, users.Update(ctx, &models.User{ID: 1}, "Nope"), repos.ErrInvalidArgument)
		bad := repos.New[models.User](m.DB(), repos.WithBatchSize(0))
		_, err = bad.Get(ctx, 1)
		repoError(t, err, repos.ErrInvalidArgument)
		repoError(t, repos.New[int](m.DB()).Create(ctx, new(int)), repos.ErrInvalidArgument)
	})
}
