package dbresolverapp_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"dbresolverapp.example/dbresolverapp"
)

// open opens the application as its set-up file says (dbresolver or the
// Manager), migrated, closed at cleanup. The main module's
// TestDBResolverAppModule sets the environment; without it the tests skip.
func open(t *testing.T) (*dbresolverapp.App, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	db, closeDB, err := dbresolverapp.Open(ctx)
	if errors.Is(err, dbresolverapp.ErrNotConfigured) {
		t.Skipf("%v: run by the main module's TestDBResolverAppModule (tests/dbresolverapp_module_test.go)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closeDB(); err != nil {
			t.Error(err)
		}
	})
	app := dbresolverapp.New(db)
	if err := app.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return app, ctx
}

// unique makes names that do not collide with an earlier run's rows.
func unique(s string) string { return fmt.Sprintf("%s-%d", s, time.Now().UnixNano()) }

// Each table is created on its own database, and only there.
func TestTablesAreOnTheirOwnDatabases(t *testing.T) {
	app, ctx := open(t)
	for _, c := range []struct {
		resolver, table string
		want            bool
	}{
		{"", "users", true},
		{"", "events", false},
		{dbresolverapp.EventsResolver, "events", true},
		{dbresolverapp.EventsResolver, "users", false},
	} {
		got, err := app.HasTable(ctx, c.resolver, c.table)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("table %s on resolver %q: exists %v, want %v", c.table, c.resolver, got, c.want)
		}
	}
}

func TestUsers(t *testing.T) {
	app, ctx := open(t)
	domain := unique("example") + ".com"
	email := "ada@" + domain
	u, err := app.CreateUser(ctx, "Ada", email)
	if err != nil {
		t.Fatal(err)
	}
	got, err := app.UserByEmail(ctx, email) // dbresolver.Write: read at once
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.Name != "Ada" || !got.Active {
		t.Fatalf("UserByEmail = %+v, want %+v", got, u)
	}
	if _, err := app.CreateUser(ctx, "Ada again", email); err == nil {
		t.Fatal("a second user with the same email was accepted")
	}
	if _, err := app.CreateUser(ctx, "Alan", "alan@"+domain); err != nil {
		t.Fatal(err)
	}

	// dbresolver.Read: a replica, which catches up.
	count := func() (int64, error) { return app.CountActiveUsers(ctx, domain) }
	eventually(t, count, 2)
	if err := app.Deactivate(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, count, 1)
	if got, err = app.UserByEmail(ctx, email); err != nil || got.Active {
		t.Fatalf("after Deactivate: %+v, %v", got, err)
	}
}

func TestEvents(t *testing.T) {
	app, ctx := open(t)
	u, err := app.CreateUser(ctx, "Grace", unique("grace")+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	login, view, logout := unique("login"), unique("view"), unique("logout")
	if _, err := app.RecordEvent(ctx, u.ID, login); err != nil {
		t.Fatal(err)
	}
	if err := app.RecordEvents(ctx, u.ID, view, view, logout); err != nil {
		t.Fatal(err)
	}
	// A transaction that fails leaves nothing behind.
	if err := app.RecordEvents(ctx, u.ID, view, ""); err == nil {
		t.Fatal("an event without a kind was accepted")
	}
	events, err := app.EventsOf(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{login, view, view, logout}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("EventsOf = %v, want %v", kinds, want)
	}

	// The raw report on an events replica sees them once it caught up.
	eventually(t, func() (int64, error) {
		counts, err := app.CountByKind(ctx)
		for _, c := range counts {
			if c.Kind == view {
				return c.Count, err
			}
		}
		return 0, err
	}, 2)

	n, err := app.PurgeEventsOf(ctx, u.ID)
	if err != nil || n != 4 {
		t.Fatalf("PurgeEventsOf = %d, %v; want 4 rows", n, err)
	}
	if events, err = app.EventsOf(ctx, u.ID); err != nil || len(events) != 0 {
		t.Fatalf("after the purge: %v, %v", events, err)
	}
}

// eventually polls get until it returns want (a replica catching up).
func eventually(t *testing.T, get func() (int64, error), want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := get()
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %d after 30s: last %d, %v", want, v, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
