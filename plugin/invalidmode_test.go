package plugin

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm/clause"
)

// Every array indexed by mode has modeCount entries: a mode past them is
// ErrInvalidMode on the statement, never an index panic.
func TestInvalidModeNeverIndexes(t *testing.T) {
	p, _ := routingPlugin(t, 2, Options{})
	bad := Mode(modeCount)
	assert.False(t, bad.valid())
	assert.Equal(t, "mode(5)", bad.String())
	_, err := ParseMode(bad.String())
	assert.Error(t, err)

	db := queryStmt(p)
	require.NotPanics(t, func() { bad.ModifyStatement(db.Statement) })
	assert.ErrorIs(t, db.Error, ErrInvalidMode)

	// A mode clause set by hand, past ModifyStatement.
	db = queryStmt(p)
	db.Statement.Clauses[modeClause] = clause.Clause{Expression: Mode(200)}
	require.NotPanics(t, func() { p.routeQuery(db) })
	assert.ErrorIs(t, db.Error, ErrInvalidMode)

	// Row: the error comes in a *sql.Row, not as a nil one.
	db = queryStmt(p)
	db.Statement.Clauses[modeClause] = clause.Clause{Expression: Mode(200)}
	p.routeRow(db)
	require.NotNil(t, db.Statement.Dest)
	assert.True(t, errors.Is(db.Statement.Dest.(interface{ Err() error }).Err(), ErrInvalidMode))
}
