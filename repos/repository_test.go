package repos_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/repos"
)

// hookedItem has a BeforeCreate hook, so CreateMany must take the INSERT
// path for it.
type hookedItem struct {
	ID        uint
	Name      string `gorm:"not null;uniqueIndex:idx_hooked_items_name"`
	Hooked    bool   `gorm:"not null"`
	CreatedAt time.Time
}

func (h *hookedItem) BeforeCreate(*gorm.DB) error {
	h.Hooked = true
	return nil
}

// pageItem is the table of the paging tests.
type pageItem struct {
	ID    uint
	Batch string `gorm:"not null;index"`
	N     int    `gorm:"not null"`
}

// strictItem has a nullable column declared NOT NULL and a check constraint.
type strictItem struct {
	ID   uint
	Name *string `gorm:"not null"`
	Qty  int     `gorm:"not null;check:chk_strict_items_qty,qty > 0"`
}

var errRollback = errors.New("roll back")

// TestRepositoryBehaviour runs one behaviour test against the repositories on
// the plain Manager and inside a transaction (rolled back at the end).
func TestRepositoryBehaviour(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	users, prompts := promptimprover.NewUserRepository(m.DB()), promptimprover.NewPromptRepository(m.DB())

	t.Run("manager", func(t *testing.T) {
		behaviour(t, ctx, users, prompts)
	})
	t.Run("transaction", func(t *testing.T) {
		var prefix string
		err := m.Transaction(ctx, func(tx *gorm.DB) error {
			prefix = behaviour(t, ctx, users.WithTx(tx), prompts.WithTx(tx))
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		n, err := users.Count(ctx, repos.Like("Email", prefix+"%"))
		require.NoError(t, err)
		assert.Zero(t, n, "every statement ran on the rolled-back transaction")
	})
}

// behaviour exercises every operation; it returns the email prefix of the
// users it made.
func behaviour(t *testing.T, ctx context.Context, users *promptimprover.UserRepository, prompts *promptimprover.PromptRepository) string {
	p := unique(t)
	start := time.Now().Add(-time.Second)

	u := models.User{Name: "Ada", Email: p + "ada@example.com", Active: true}
	require.NoError(t, users.Create(ctx, &u))
	require.NotZero(t, u.ID)
	assert.True(t, u.CreatedAt.After(start))

	got, err := users.Get(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Ada", got.Name)
	assert.Equal(t, u.Email, got.Email)
	assert.True(t, got.Active)

	// Named fields are written, zero values included.
	u.Name, u.Active = "Ada L.", false
	require.NoError(t, users.Update(ctx, &u, "Name", "active"))
	got, err = users.Get(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Ada L.", got.Name)
	assert.False(t, got.Active)

	// Without names only non-zero fields are written: Email and Active stay.
	require.NoError(t, users.Update(ctx, &models.User{ID: u.ID, Name: "Ada Lovelace"}))
	got, err = users.FindByEmail(ctx, u.Email)
	require.NoError(t, err)
	assert.Equal(t, "Ada Lovelace", got.Name)
	assert.False(t, got.Active)
	assert.False(t, got.UpdatedAt.Before(got.CreatedAt))

	more := []models.User{
		{Name: "b", Email: p + "b@example.com", Active: true},
		{Name: "c", Email: p + "c@example.com", Active: false},
		{Name: "d", Email: p + "d@example.com", Active: true},
		{Name: "e", Email: p + "e@example.com", Active: true},
	}
	require.NoError(t, users.CreateMany(ctx, more))
	for _, m := range more {
		assert.True(t, m.CreatedAt.After(start), "CreatedAt is set on the rows")
	}

	n, err := users.Count(ctx, repos.Like("Email", p+"%"))
	require.NoError(t, err)
	assert.EqualValues(t, 5, n)
	n, err = users.Count(ctx, repos.Like("Email", p+"%"), repos.Eq("Active", true))
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)

	list, err := users.List(ctx, repos.ListOptions{
		Filters: []repos.Filter{repos.Like("Email", p+"%"), repos.Eq("Active", true)},
		Order:   []repos.Order{repos.Desc("Email")},
	})
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, []string{"e", "d", "b"}, []string{list[0].Name, list[1].Name, list[2].Name})

	list, err = users.List(ctx, repos.ListOptions{
		Filters: []repos.Filter{repos.In("Email", []string{p + "b@example.com", p + "c@example.com"})},
	})
	require.NoError(t, err)
	assert.Len(t, list, 2)

	d, err := users.FindByEmail(ctx, p+"d@example.com")
	require.NoError(t, err)
	require.NoError(t, users.Deactivate(ctx, d.ID))
	active := activeEmails(t, ctx, users)
	assert.True(t, active[p+"b@example.com"])
	assert.False(t, active[p+"d@example.com"], "deactivated")
	assert.False(t, active[u.Email])

	pr := models.Prompt{UserID: u.ID, Title: "t", Body: "b"}
	require.NoError(t, prompts.Create(ctx, &pr))
	ps, err := prompts.ListByUser(ctx, u.ID, repos.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, pr.ID, ps[0].ID)

	require.NoError(t, prompts.Delete(ctx, pr.ID))
	require.NoError(t, users.Delete(ctx, u.ID))
	_, err = users.Get(ctx, u.ID)
	assert.ErrorIs(t, err, repos.ErrNotFound)
	assert.ErrorIs(t, users.Delete(ctx, u.ID), repos.ErrNotFound)
	assert.ErrorIs(t, users.Update(ctx, &u, "Name"), repos.ErrNotFound)
	assert.ErrorIs(t, users.Deactivate(ctx, u.ID), repos.ErrNotFound)
	return p
}

// activeEmails walks every page of ListActive.
func activeEmails(t *testing.T, ctx context.Context, users *promptimprover.UserRepository) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var after any
	for {
		page, err := users.ListActive(ctx, repos.Page{AfterID: after, Limit: 50})
		require.NoError(t, err)
		for _, u := range page {
			require.True(t, u.Active)
			require.False(t, seen[u.Email], "user %d listed twice", u.ID)
			seen[u.Email] = true
		}
		if len(page) < 50 {
			return seen
		}
		after = page[len(page)-1].ID
	}
}

// A unit of work across two repositories commits or rolls back as one.
func TestUnitOfWorkAcrossRepositories(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	users, prompts := promptimprover.NewUserRepository(m.DB()), promptimprover.NewPromptRepository(m.DB())
	p := unique(t)

	create := func(email string, fail bool) error {
		return m.Transaction(ctx, func(tx *gorm.DB) error {
			u := models.User{Name: "w", Email: email, Active: true}
			if err := users.WithTx(tx).Create(ctx, &u); err != nil {
				return err
			}
			if err := prompts.WithTx(tx).Create(ctx, &models.Prompt{UserID: u.ID, Title: "t", Body: "b"}); err != nil {
				return err
			}
			if fail {
				return errRollback
			}
			return nil
		})
	}
	require.NoError(t, create(p+"kept@example.com", false))
	require.ErrorIs(t, create(p+"gone@example.com", true), errRollback)

	kept, err := users.FindByEmail(ctx, p+"kept@example.com")
	require.NoError(t, err)
	n, err := prompts.Count(ctx, repos.Eq("UserID", kept.ID))
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	_, err = users.FindByEmail(ctx, p+"gone@example.com")
	assert.ErrorIs(t, err, repos.ErrNotFound)
}
