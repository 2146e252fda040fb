package plugin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// queryStmt is a model read with the given clauses, as GORM's query
// callback sees it, on the Auto entry route.
func queryStmt(p *Plugin, clauses ...clause.Interface) *gorm.DB {
	db := &gorm.DB{Config: &gorm.Config{}}
	db.Statement = &gorm.Statement{DB: db, Clauses: map[string]clause.Clause{}, ConnPool: p.entries[Auto], Context: context.Background()}
	for _, c := range clauses {
		db.Statement.AddClause(c)
	}
	return db
}

// A read that must run on the primary (the read of FirstOrCreate, a locking
// read) is still a read: a broken connection retries it, never answers
// ErrOutcomeUnknown. A page of one row (repos.List, Limit 1 ordered by the
// key column) is a plain read that may go to a replica.
func TestPrimaryReadsAreReads(t *testing.T) {
	one := 1
	pkOrder := clause.OrderBy{Columns: []clause.OrderByColumn{{Column: clause.Column{Table: clause.CurrentTable, Name: clause.PrimaryKey}}}}
	listOrder := clause.OrderBy{Columns: []clause.OrderByColumn{{Column: clause.Column{Table: clause.CurrentTable, Name: "id"}}}}
	cases := []struct {
		name     string
		clauses  []clause.Interface
		replicas bool
	}{
		{"the read of FirstOrCreate", []clause.Interface{clause.Limit{Limit: &one}, pkOrder}, false},
		{"a locking read", []clause.Interface{clause.Locking{Strength: "UPDATE"}}, false},
		{"repos.List with Limit 1", []clause.Interface{clause.Limit{Limit: &one}, listOrder}, true},
		{"a plain read", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := routingPlugin(t, 2, Options{FailoverTimeout: 100 * time.Millisecond})
			db := queryStmt(p, c.clauses...)
			p.routeQuery(db)
			require.NoError(t, db.Error)
			r, ok := db.Statement.ConnPool.(*route)
			require.True(t, ok)
			assert.True(t, r.read, "a read: retried where its connection breaks")
			assert.Equal(t, c.replicas, r.replicas, "replicas")

			// The node is reported down and no other can serve it: the
			// route waits for one, as for any read, then gives up.
			s := &script{errs: []error{errReset}}
			err := r.run(context.Background(), OpQuery, s.do)
			require.Error(t, err)
			assert.False(t, errors.Is(err, ErrOutcomeUnknown), "%v", err)
			assert.True(t, routeGaveUp(err), "%v", err)
		})
	}
}
