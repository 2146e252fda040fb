package pgcluster

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func startCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	opts.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	begin := time.Now()
	c, err := Start(ctx, opts)
	require.NoError(t, err)
	t.Logf("started 1+%d nodes in %s", opts.Replicas, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually waits until node sees the row with that id in table t.
func requireRow(t *testing.T, n *Node, table string, id int) {
	t.Helper()
	ctx := testCtx(t)
	var last error
	require.Eventuallyf(t, func() bool {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		v, err := n.QueryInt(qctx, "SELECT count(*) FROM "+table+" WHERE id = $1", id)
		last = err
		return err == nil && v == 1
	}, 20*time.Second, 50*time.Millisecond, "row %d never reached %s: %v", id, n.Name(), &last)
}

func insert(t *testing.T, n *Node, table string, id int) {
	t.Helper()
	require.NoError(t, n.Exec(testCtx(t), "INSERT INTO "+table+" (id) VALUES ($1)", id))
}

// ourProcesses lists live processes whose command line mentions dir.
func ourProcesses(dir string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !pidAlive(pid) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), dir) {
			found = append(found, fmt.Sprintf("%d: %s", pid, strings.ReplaceAll(string(b), "\x00", " ")))
		}
	}
	return found
}

func TestCluster(t *testing.T) {
	c := startCluster(t, DefaultOptions())
	ctx := testCtx(t)
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	require.Len(t, c.Nodes(), 3)
	require.Nil(t, c.Node("nope"))
	require.NotContains(t, primary.LogTail(1000), c.Password())

	t.Run("roles and replication", func(t *testing.T) {
		p, err := c.Primary(ctx)
		require.NoError(t, err)
		require.Same(t, primary, p)
		for _, r := range []*Node{r1, r2} {
			rec, err := r.InRecovery(ctx)
			require.NoError(t, err)
			require.True(t, rec, r.Name())
		}
		require.Equal(t, "127.0.0.1:"+strconv.Itoa(primary.Port()), primary.Addr())
		require.Less(t, primary.Port(), 32768)
		require.NoError(t, primary.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)"))
		insert(t, primary, "t", 1)
		requireRow(t, r1, "t", 1)
		requireRow(t, r2, "t", 1)
	})

	t.Run("kill and start on the same port", func(t *testing.T) {
		port := primary.Port()
		require.NoError(t, primary.Kill())
		require.False(t, primary.Running())
		require.Empty(t, ourProcesses(primary.dataDir))
		require.NoError(t, primary.Start(ctx))
		require.Equal(t, port, primary.Port())
		insert(t, primary, "t", 2)
		requireRow(t, r1, "t", 2)
		requireRow(t, r2, "t", 2)
	})

	t.Run("pause and resume", func(t *testing.T) {
		require.NoError(t, r2.Pause())
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := r2.QueryInt(qctx, "SELECT 1")
		cancel()
		require.Error(t, err)
		require.NoError(t, r2.Resume())
		v, err := r2.QueryInt(ctx, "SELECT 1")
		require.NoError(t, err)
		require.EqualValues(t, 1, v)
	})

	t.Run("pause replay and resume replay", func(t *testing.T) {
		require.NoError(t, r1.PauseReplay(ctx))
		insert(t, primary, "t", 3)
		requireRow(t, r2, "t", 3)
		time.Sleep(300 * time.Millisecond)
		v, err := r1.QueryInt(ctx, "SELECT count(*) FROM t WHERE id = 3")
		require.NoError(t, err)
		require.Zero(t, v, "replica1 replayed while paused")
		require.NoError(t, r1.ResumeReplay(ctx))
		requireRow(t, r1, "t", 3)
	})

	t.Run("close removes everything", func(t *testing.T) {
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "idempotent")
		_, err := os.Stat(c.Dir())
		require.True(t, os.IsNotExist(err), "dir left: %v", err)
		require.Empty(t, ourProcesses(c.Dir()))
		for _, n := range c.Nodes() {
			require.False(t, n.Running())
		}
		require.ErrorIs(t, primary.Start(ctx), ErrClosed)
	})
}

func TestFailover(t *testing.T) {
	c := startCluster(t, DefaultOptions())
	ctx := testCtx(t)
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE f (id int PRIMARY KEY)"))
	insert(t, primary, "f", 1)
	requireRow(t, r1, "f", 1)
	requireRow(t, r2, "f", 1)

	require.NoError(t, primary.Kill())
	require.NoError(t, r1.Promote(ctx))
	p, err := c.Primary(ctx)
	require.NoError(t, err)
	require.Same(t, r1, p)

	require.NoError(t, r2.Repoint(ctx, r1))
	insert(t, r1, "f", 2)
	requireRow(t, r2, "f", 2)

	// The crashed old primary rejoins as a standby (pg_rewind after crash recovery).
	require.NoError(t, primary.Repoint(ctx, r1))
	rec, err := primary.InRecovery(ctx)
	require.NoError(t, err)
	require.True(t, rec)
	insert(t, r1, "f", 3)
	requireRow(t, primary, "f", 3)
	requireRow(t, r2, "f", 3)
}

func TestSwitchover(t *testing.T) {
	c := startCluster(t, Options{Replicas: 1})
	ctx := testCtx(t)
	primary, r1 := c.Node("primary"), c.Node("replica1")
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE s (id int PRIMARY KEY)"))
	insert(t, primary, "s", 1)
	requireRow(t, r1, "s", 1)

	require.NoError(t, primary.Stop(ctx))
	require.False(t, primary.Running())
	require.NoError(t, r1.Promote(ctx))
	require.NoError(t, primary.Repoint(ctx, r1))
	rec, err := primary.InRecovery(ctx)
	require.NoError(t, err)
	require.True(t, rec)
	p, err := c.Primary(ctx)
	require.NoError(t, err)
	require.Same(t, r1, p)
	insert(t, r1, "s", 2)
	requireRow(t, primary, "s", 2)
}

func TestSyncReplica(t *testing.T) {
	c := startCluster(t, Options{Replicas: 1, SyncReplica: true})
	ctx := testCtx(t)
	primary := c.Node("primary")
	var names, state string
	require.NoError(t, primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		if err := conn.QueryRow(ctx, "SHOW synchronous_standby_names").Scan(&names); err != nil {
			return err
		}
		return conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'replica1'").Scan(&state)
	}))
	require.Equal(t, "FIRST 1 (replica1)", names)
	require.Equal(t, "sync", state)
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE y (id int PRIMARY KEY)"))
	insert(t, primary, "y", 1)
}

func TestOptionsValidate(t *testing.T) {
	_, err := Start(context.Background(), Options{Replicas: -1})
	require.Error(t, err)
	_, err = Start(context.Background(), Options{SyncReplica: true})
	require.Error(t, err)
	_, err = Start(context.Background(), Options{Settings: map[string]string{"port": "1"}})
	require.Error(t, err)
	_, err = Start(context.Background(), Options{BinDir: t.TempDir()})
	require.ErrorIs(t, err, ErrNoServerBinaries)
}

func TestRedact(t *testing.T) {
	r := redactor{secret: "s3cret"}
	err := r.Error(fmt.Errorf("x: %w", fmt.Errorf("password=s3cret")))
	require.NotContains(t, err.Error(), "s3cret")
	require.Equal(t, "a [REDACTED] b", r.String("a s3cret b"))
}

// TestFailoverDiverged: replica2 has WAL the new primary never got, so the
// live repoint cannot work and Repoint must rewind it.
func TestFailoverDiverged(t *testing.T) {
	c := startCluster(t, DefaultOptions())
	ctx := testCtx(t)
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE d (id int PRIMARY KEY)"))
	insert(t, primary, "d", 1)
	requireRow(t, r1, "d", 1)
	requireRow(t, r2, "d", 1)

	require.NoError(t, r1.Stop(ctx))
	insert(t, primary, "d", 2) // reaches replica2 only
	requireRow(t, r2, "d", 2)
	require.NoError(t, primary.Kill())
	require.NoError(t, r1.Start(ctx))
	require.NoError(t, r1.Promote(ctx))
	v, err := r1.QueryInt(ctx, "SELECT count(*) FROM d WHERE id = 2")
	require.NoError(t, err)
	require.Zero(t, v)

	require.NoError(t, r2.Repoint(ctx, r1))
	insert(t, r1, "d", 3)
	requireRow(t, r2, "d", 3)
	v, err = r2.QueryInt(ctx, "SELECT count(*) FROM d WHERE id = 2")
	require.NoError(t, err)
	require.Zero(t, v, "replica2 kept a row of the lost timeline")
}
