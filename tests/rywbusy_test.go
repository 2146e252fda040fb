package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
)

type rywBusyItem struct {
	ID   int64
	Name string
}

// holdConns opens transactions in mode until every node of ports holds
// perNode of them (each transaction keeps one connection of its pool), and
// rolls them back at cleanup.
func holdConns(t *testing.T, ctx context.Context, m *datalayer.Manager, mode datalayer.Mode, ports []int, perNode int) {
	t.Helper()
	held := map[int]int{}
	want := len(ports) * perNode
	for tries := 0; len(held) < len(ports) || sum(held) < want; tries++ {
		require.Less(t, tries, 4*want, "could not fill the pools: %v", held)
		// Begun with ctx, not a statement's context: the transaction (and
		// its connection) lasts until the test ends it.
		tx := m.Conn(ctx, mode).Begin()
		require.NoError(t, tx.Error)
		var port int
		require.NoError(t, tx.Raw("SELECT inet_server_port()").Scan(&port).Error)
		if held[port] >= perNode {
			tx.Rollback()
			continue
		}
		held[port]++
		t.Cleanup(func() { tx.Rollback() })
	}
}

func sum(m map[int]int) (s int) {
	for _, v := range m {
		s += v
	}
	return s
}

// A read-your-writes read never waits pool_timeout to ask a node for its
// WAL position: with every replica's read pool in use it reads the primary
// at once; with the primary's pool in use it waits for it once, not twice.
func TestReadYourWritesDoesNotWaitForBusyPools(t *testing.T) {
	ctx := testCtx(t)
	nodes := shared.Nodes()
	primary := nodes[0]
	m := newManager(t, shared, func(cfg *datalayer.Config) {
		cfg.PoolSize, cfg.MaxOverflow = 2, 0
		cfg.PoolTimeout = 3 * time.Second
		cfg.HealthCheckInterval = 10 * time.Second // positions known only by asking
	})
	require.NoError(t, migrate(t, ctx, m, &rywBusyItem{}))
	waitReplicated(t, shared, primary)

	replicas := func() (ports []int) {
		for _, n := range nodes[1:] {
			ports = append(ports, n.Port())
		}
		return ports
	}()
	rctx, stop := context.WithCancel(datalayer.WithReadYourWrites(ctx))
	defer stop()
	holdConns(t, rctx, m, datalayer.ReadOnly, replicas, 2)

	it := rywBusyItem{Name: "busy replicas"}
	require.NoError(t, stmt(t, rctx, "insert", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&it).Error
	}))
	var port int
	start := time.Now()
	require.NoError(t, stmt(t, rctx, "read-your-writes read", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Model(&rywBusyItem{}).Where("id = ?", it.ID).Select("inet_server_port()").Scan(&port).Error
	}))
	took := time.Since(start)
	assert.Equal(t, primary.Port(), port, "every replica pool busy: the primary")
	assert.Less(t, took, 2*time.Second, "no wait of pool_timeout (3 s) for a replica's position")

	// The primary's pool in use: the read fails after one pool_timeout.
	wctx := datalayer.WithReadYourWrites(ctx)
	require.NoError(t, stmt(t, wctx, "insert", func(ctx context.Context) error {
		return m.DB().WithContext(ctx).Create(&rywBusyItem{Name: "busy primary"}).Error
	}))
	holdConns(t, ctx, m, datalayer.ReadWrite, []int{primary.Port()}, 2)
	start = time.Now()
	err := stmt(t, wctx, "read-your-writes read", func(ctx context.Context) error {
		var got []rywBusyItem
		return m.DB().WithContext(ctx).Find(&got).Error
	})
	took = time.Since(start)
	assert.True(t, errors.Is(err, datalayer.ErrPoolTimeout), "%v", err)
	assert.Less(t, took, 5*time.Second, "one pool_timeout (3 s), not one to ask and one to read")
}
