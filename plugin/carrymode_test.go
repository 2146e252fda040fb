package plugin

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// A routed statement's mode is what the statements GORM derives from it
// (same ConnPool, context and Config, no clauses) inherit. The route marks
// the context only for a mode that came from a clause: an inherited mode is
// inherited again from the route it picked, so the second lookup of the
// context that carryMode would make is skipped (issue 21). Each case ends
// with the derived statement's mode equal to the route's.
func TestRoutedInheritedModeNeedsNoMark(t *testing.T) {
	p, _ := routingPlugin(t, 2, Options{})
	other := &sql.DB{} // a ConnPool the plugin does not know
	mark := func(m Mode, pool gorm.ConnPool) context.Context {
		return context.WithValue(context.Background(), modeKey{}, modeMark{mode: m, pool: pool})
	}
	cases := []struct {
		name   string
		pool   gorm.ConnPool
		config gorm.ConnPool // the session's Config.ConnPool
		ctx    context.Context
		clause *Mode
		want   Mode
	}{
		{name: "auto handle", pool: p.entries[Auto], ctx: context.Background(), want: Auto},
		{name: "read-only handle", pool: p.entries[ReadOnly], ctx: context.Background(), want: ReadOnly},
		{name: "mark for any pool", pool: p.entries[Auto], ctx: mark(ReadOnly, nil), want: ReadOnly},
		{name: "mark for another pool", pool: p.entries[Auto], ctx: mark(ReadOnly, other), want: Auto},
		{name: "mark for this pool", pool: p.entries[Auto], ctx: mark(Batch, p.entries[Auto]), want: Batch},
		{name: "mark for this pool, auto", pool: p.entries[Auto], ctx: mark(Auto, p.entries[Auto]), want: Auto},
		{name: "no pool, a handle in the config", config: p.entries[ReadWrite], ctx: context.Background(), want: ReadWrite},
		{name: "no pool, a mark for any pool", ctx: mark(Transactional, nil), want: Transactional},
		{name: "clause over a mark", pool: p.entries[Auto], ctx: mark(ReadOnly, nil), clause: ptr(Auto), want: Auto},
		{name: "clause over a handle", pool: p.entries[ReadOnly], ctx: context.Background(), clause: ptr(ReadWrite), want: ReadWrite},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := &gorm.DB{Config: &gorm.Config{ConnPool: c.config}}
			db.Statement = &gorm.Statement{DB: db, Clauses: map[string]clause.Clause{}, ConnPool: c.pool, Context: c.ctx}
			if c.clause != nil {
				db.Statement.Clauses[modeClause] = clause.Clause{Expression: *c.clause}
			}
			p.routeQuery(db)
			require.NoError(t, db.Error)
			r, ok := db.Statement.ConnPool.(*route)
			require.True(t, ok, "not routed: %T", db.Statement.ConnPool)
			assert.Equal(t, c.want, r.mode, "routed in the wrong mode")
			derived := &gorm.Statement{DB: db, ConnPool: db.Statement.ConnPool, Context: db.Statement.Context}
			assert.Equal(t, c.want, modeOf(derived), "a derived statement's mode")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkRouteQuery is the routing callback of an Auto point select on a
// request's context (a few values and a deadline above Background), without
// GORM's work or a round trip: the mode inference's context lookups show here.
func BenchmarkRouteQuery(b *testing.B) {
	p, _ := routingPlugin(b, 2, Options{})
	type key struct{ int }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = context.WithValue(context.WithValue(ctx, key{1}, 1), key{2}, 2)
	ctx, cancel2 := context.WithTimeout(ctx, time.Hour)
	defer cancel2()
	db := &gorm.DB{Config: &gorm.Config{}}
	stmt := &gorm.Statement{DB: db, Clauses: map[string]clause.Clause{}, Context: ctx}
	db.Statement = stmt
	b.ReportAllocs()
	for b.Loop() {
		stmt.ConnPool, stmt.Context = p.entries[Auto], ctx
		p.routeQuery(db)
		if db.Error != nil {
			b.Fatal(db.Error)
		}
	}
}
