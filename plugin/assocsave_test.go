package plugin

import (
	"database/sql"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"gorm.io/gorm"
)

// Only an association save (or a join row) in the transaction GORM began
// for its call leaves it.
func TestLeavesCallTx(t *testing.T) {
	cache := &sync.Map{}
	jt := joinTable(t, cache, &jtUser{})
	tx := &sql.Tx{}
	st := &txState{}
	st.opened(tx)
	defer st.end()
	save := &gorm.Statement{ConnPool: tx}
	save.Settings.Store(savedAssociations, true)
	join := &gorm.Statement{ConnPool: tx, Schema: jt}
	plain := &gorm.Statement{ConnPool: tx}
	for _, s := range []*gorm.Statement{save, join, plain} {
		assert.False(t, leavesCallTx(s), "the application's transaction keeps every statement")
	}
	st.implicit = true
	assert.True(t, leavesCallTx(save))
	assert.True(t, leavesCallTx(join))
	assert.False(t, leavesCallTx(plain), "a hook's statement stays")
	outside := &gorm.Statement{}
	outside.Settings.Store(savedAssociations, true)
	assert.False(t, leavesCallTx(outside), "no transaction")
}
