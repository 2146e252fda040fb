package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
)

type reuseRow struct {
	ID   int64
	Name string
}

// m.Conn hands out a handle to reuse, like the legacy get_connection(mode):
// the conditions of one statement never reach the next.
func TestConnHandleIsReusable(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	require.NoError(t, m.Conn(ctx, datalayer.Transactional).AutoMigrate(&reuseRow{}))
	rw := m.Conn(ctx, datalayer.ReadWrite)
	require.NoError(t, rw.Create(&[]reuseRow{{Name: "a"}, {Name: "b"}}).Error)
	t.Cleanup(func() { m.Conn(ctx, datalayer.Transactional).Exec("DROP TABLE reuse_rows") })

	var a, b []reuseRow
	require.NoError(t, rw.Where("name = ?", "a").Find(&a).Error)
	require.NoError(t, rw.Where("name = ?", "b").Find(&b).Error)
	require.Len(t, a, 1)
	require.Len(t, b, 1, "the second query must not carry the first one's condition")
	assert.Equal(t, "b", b[0].Name)

	var port int
	require.NoError(t, rw.Raw("SELECT inet_server_port()").Scan(&port).Error)
	primary, err := shared.Primary(ctx)
	require.NoError(t, err)
	assert.Equal(t, primary.Port(), port, "the mode stays on every statement of the handle")
}

// A mode clause inside db.Connection does not un-pin it: session state
// stays on the one connection.
func TestModeInsideConnectionKeepsThePin(t *testing.T) {
	ctx := testCtx(t)
	m := newManager(t, shared, nil)
	require.NoError(t, m.DB().WithContext(ctx).Connection(func(tx *gorm.DB) error {
		var pid, again, ro int
		if err := tx.Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
			return err
		}
		if err := tx.Clauses(datalayer.ReadWrite).Raw("SELECT pg_backend_pid()").Scan(&again).Error; err != nil {
			return err
		}
		if err := tx.Clauses(datalayer.Transactional).Raw("SELECT pg_backend_pid()").Scan(&ro).Error; err != nil {
			return err
		}
		assert.Equal(t, pid, again, "ReadWrite inside Connection stays on the pinned connection")
		assert.Equal(t, pid, ro, "Transactional inside Connection stays on the pinned connection")
		return nil
	}))
}
