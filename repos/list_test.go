package repos_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/repos"
)

// Paging through 1,000 rows by either style returns each row exactly once.
func TestPagingReturnsEveryRowOnce(t *testing.T) {
	m := newManager(t, nil)
	ctx := testCtx(t)
	items := repos.New[pageItem](m.DB())
	p := unique(t)
	rows := make([]pageItem, 1000)
	for i := range rows {
		rows[i] = pageItem{Batch: p, N: i}
	}
	require.NoError(t, items.CreateMany(ctx, rows))
	mine := []repos.Filter{repos.Eq("Batch", p)}
	const size = 97

	check := func(t *testing.T, seen map[int]int) {
		t.Helper()
		require.Len(t, seen, 1000)
		for n, times := range seen {
			require.Equal(t, 1, times, "row %d", n)
		}
	}

	t.Run("keyset", func(t *testing.T) {
		seen := map[int]int{}
		var after any
		var last uint
		pages := 0
		for {
			page, err := items.List(ctx, repos.ListOptions{Filters: mine, Page: repos.Page{AfterID: after, Limit: size}})
			require.NoError(t, err)
			pages++
			for _, it := range page {
				require.Greater(t, it.ID, last, "ascending by primary key")
				last = it.ID
				seen[it.N]++
			}
			if len(page) < size {
				break
			}
			after = page[len(page)-1].ID
		}
		check(t, seen)
		assert.Equal(t, 11, pages)
	})
	t.Run("limit offset", func(t *testing.T) {
		seen := map[int]int{}
		for off := 0; ; off += size {
			page, err := items.List(ctx, repos.ListOptions{Filters: mine, Order: []repos.Order{repos.Desc("N")}, Page: repos.Page{Limit: size, Offset: off}})
			require.NoError(t, err)
			for i, it := range page {
				require.Equal(t, 999-off-i, it.N, "ordered by N descending")
				seen[it.N]++
			}
			if len(page) < size {
				break
			}
		}
		check(t, seen)
	})
	t.Run("count", func(t *testing.T) {
		n, err := items.Count(ctx, repos.Eq("Batch", p), repos.Ge("N", 900))
		require.NoError(t, err)
		assert.EqualValues(t, 100, n)
	})
}
