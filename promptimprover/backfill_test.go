package promptimprover_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/migrations"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/registry"
)

func TestBackfillLowercasesEmailsIdempotently(t *testing.T) {
	ctx := context.Background()
	dsn := freshDSN(t)
	reg := registry.New(registry.WithStrict(true))
	require.NoError(t, promptimprover.Register(reg))
	require.NoError(t, reg.AutoMigrate(openGorm(t, dsn)))
	db := openSQL(t, dsn)
	_, err := db.Exec(`INSERT INTO users (name, email, active, created_at, updated_at) VALUES
		('a', 'Ada@Example.COM', true, now(), now()),
		('b', 'bob@example.com', true, now(), now()),
		('c1', 'Cy@example.com', true, now(), now()),
		('c2', 'cy@EXAMPLE.com', true, now(), now())`)
	require.NoError(t, err)

	r, err := migrations.New(db, migrations.WithFS(promptimprover.Migrations()))
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Up(ctx)
	require.NoError(t, err)
	emails := func() map[string]string {
		rows, err := db.Query(`SELECT name, email FROM users`)
		require.NoError(t, err)
		defer rows.Close()
		m := map[string]string{}
		for rows.Next() {
			var n, e string
			require.NoError(t, rows.Scan(&n, &e))
			m[n] = e
		}
		require.NoError(t, rows.Err())
		return m
	}
	want := map[string]string{
		"a": "ada@example.com", "b": "bob@example.com",
		// A case-only duplicate pair is left alone rather than breaking the unique index.
		"c1": "Cy@example.com", "c2": "cy@EXAMPLE.com",
	}
	require.Equal(t, want, emails())

	// Run the backfill again: nothing changes.
	_, err = r.Down(ctx)
	require.NoError(t, err)
	_, err = r.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, want, emails())
}
