package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// followTimeout bounds the wait for a standby to stream from its primary.
	followTimeout = 60 * time.Second
	// liveRepointTimeout bounds a live repoint before falling back to a rewind.
	liveRepointTimeout = 15 * time.Second
)

// errDiverged: the standby's history has left the new primary's; it needs pg_rewind.
var errDiverged = errors.New("standby history diverged from the new primary")

// divergenceMarkers are server log messages of a standby that cannot follow
// the timeline of its new primary.
var divergenceMarkers = []string{
	"forked off current database system timeline",
	"is not a child of this server's history",
	"is not in this server's history",
}

// Promote turns a standby into a primary (pg_promote) and waits until it is
// out of recovery; it then clears its primary_conninfo and primary_slot_name.
// Promoting a node that is already a primary does nothing.
func (n *Node) Promote(ctx context.Context) error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if !n.Running() {
		return n.errorf("promote", ErrNotRunning)
	}
	rec, err := n.InRecovery(ctx)
	if err != nil {
		return n.errorf("promote", err)
	}
	if !rec {
		return nil
	}
	err = n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_promote(true, 60)").Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return errors.New("pg_promote did not finish within 60 s")
		}
		return nil
	})
	if err != nil {
		return n.withLog(n.errorf("promote", err))
	}
	err = poll(ctx, followTimeout, func(ctx context.Context) (bool, error) {
		rec, err := n.InRecovery(ctx)
		return err == nil && !rec, err
	}, func(last error) error {
		return n.withLog(n.errorf("promote", fmt.Errorf("still in recovery: %v", last)))
	})
	if err != nil {
		return err
	}
	err = n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		// The checkpoint puts the new timeline in pg_control, which pg_rewind reads.
		for _, q := range []string{"ALTER SYSTEM RESET primary_conninfo", "ALTER SYSTEM RESET primary_slot_name", "SELECT pg_reload_conf()", "CHECKPOINT"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n.errorf("promote", err)
	}
	return nil
}

// Repoint makes n a streaming standby of primary, which must be running and
// out of recovery. A running standby is switched live (ALTER SYSTEM
// primary_conninfo/primary_slot_name and a reload). Otherwise — n is stopped,
// crashed, is a (former) primary, or its history diverged — n is stopped,
// rewound with pg_rewind (re-cloned by a base backup if that fails or the
// binaries lack pg_rewind), configured as a standby and started. Either way Repoint returns once n
// streams from primary and has replayed primary's WAL as of the call.
func (n *Node) Repoint(ctx context.Context, primary *Node) error {
	if primary == nil || primary == n || primary.c != n.c {
		return n.errorf("repoint", errors.New("primary must be another node of the same cluster"))
	}
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if n.c.closed.Load() {
		return ErrClosed
	}
	rec, err := primary.InRecovery(ctx)
	if err != nil {
		return n.errorf("repoint", fmt.Errorf("new primary %s: %w", primary.name, err))
	}
	if rec {
		return n.errorf("repoint", fmt.Errorf("new primary %s is in recovery: promote it first", primary.name))
	}
	if err := n.ensureSlotOn(ctx, primary); err != nil {
		return err
	}
	if n.Running() && !n.Paused() {
		if rec, err := n.InRecovery(ctx); err == nil && rec {
			err := n.repointLive(ctx, primary)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return err
			}
			n.c.logf("pgcluster: %s: live repoint to %s failed (%v); rewinding", n.name, primary.name, err)
		}
	}
	return n.rejoin(ctx, primary)
}

func (n *Node) ensureSlotOn(ctx context.Context, primary *Node) error {
	if err := createSlotOn(ctx, primary, n.name); err != nil {
		return n.errorf("repoint", err)
	}
	return nil
}

func (n *Node) repointLive(ctx context.Context, primary *Node) error {
	offset := n.logSize()
	err := n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		for _, q := range []string{
			"ALTER SYSTEM SET primary_conninfo = " + quoteLiteral(n.primaryConninfo(primary)),
			"ALTER SYSTEM SET primary_slot_name = " + quoteLiteral(n.name),
			"SELECT pg_reload_conf()",
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n.errorf("repoint", err)
	}
	wctx, cancel := context.WithTimeout(ctx, liveRepointTimeout)
	defer cancel()
	return n.waitFollowing(wctx, primary, offset)
}

// rejoin stops n, rewinds it onto primary's history and starts it as its
// standby. If pg_rewind fails or is missing, or n still cannot follow, n is
// re-cloned.
func (n *Node) rejoin(ctx context.Context, primary *Node) error {
	if err := n.stopForRepoint(ctx); err != nil {
		return err
	}
	if !n.c.hasTool("pg_rewind") {
		n.c.logf("pgcluster: %s: no pg_rewind; re-cloning from %s", n.name, primary.name)
		if err := n.reclone(ctx, primary); err != nil {
			return err
		}
	} else if err := n.rewind(ctx, primary); err != nil {
		if ctx.Err() != nil {
			return err
		}
		n.c.logf("pgcluster: %s: %v; re-cloning from %s", n.name, err, primary.name)
		if err := n.reclone(ctx, primary); err != nil {
			return err
		}
	}
	err := n.startAsStandby(ctx, primary, true)
	if !errors.Is(err, errDiverged) {
		return err
	}
	n.c.logf("pgcluster: %s: cannot follow %s after rewind; re-cloning", n.name, primary.name)
	if err := n.stopForRepoint(ctx); err != nil {
		return err
	}
	if err := n.reclone(ctx, primary); err != nil {
		return err
	}
	return n.startAsStandby(ctx, primary, false)
}

func (n *Node) stopForRepoint(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := n.stop(sctx)
	cancel()
	if err != nil {
		if kerr := n.kill(); kerr != nil {
			return kerr
		}
	}
	if err := n.removeStalePid(); err != nil {
		return n.errorf("repoint", err)
	}
	// pg_rewind may run the target in single-user mode to finish crash
	// recovery, and single-user mode refuses standby.signal.
	for _, f := range []string{"standby.signal", "recovery.signal"} {
		if err := os.Remove(filepath.Join(n.dataDir, f)); err != nil && !os.IsNotExist(err) {
			return n.errorf("repoint", err)
		}
	}
	return nil
}

// rewind runs pg_rewind from primary onto the stopped n.
func (n *Node) rewind(ctx context.Context, primary *Node) error {
	// A just-promoted primary's pg_control still names the old timeline until
	// its first checkpoint, and pg_rewind (before PostgreSQL 16) would then
	// wrongly report "no rewind required".
	err := primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CHECKPOINT")
		return err
	})
	if err != nil {
		return n.errorf("repoint", fmt.Errorf("checkpoint on %s: %w", primary.name, err))
	}
	out, err := n.c.runTool(ctx, n.dir, []string{"PGPASSWORD=" + n.c.password}, "pg_rewind",
		"--target-pgdata="+n.dataDir, "--source-server="+primary.toolConninfo("pg_rewind"), "--no-sync")
	if err != nil {
		return n.errorf("repoint", err)
	}
	n.c.logf("pgcluster: %s: %s", n.name, lastLine(out))
	return nil
}

// reclone replaces n's data directory with a base backup of primary.
func (n *Node) reclone(ctx context.Context, primary *Node) error {
	if err := os.RemoveAll(n.dataDir); err != nil {
		return n.errorf("repoint", err)
	}
	return n.c.baseBackup(ctx, n, primary, false)
}

// startAsStandby configures the stopped n as a standby of primary, starts it
// and waits until it follows; with detect, errDiverged reports a history it
// cannot follow.
func (n *Node) startAsStandby(ctx context.Context, primary *Node, detect bool) error {
	if err := n.writeStandbyConfig(primary); err != nil {
		return n.errorf("repoint", err)
	}
	offset := int64(-1)
	if detect {
		offset = n.logSize()
	}
	if err := n.start(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, followTimeout)
	defer cancel()
	return n.waitFollowing(wctx, primary, offset)
}

// waitFollowing waits until n streams from primary on primary's current
// timeline and has replayed primary's WAL up to its position at the call.
// With logOffset >= 0 it returns errDiverged as soon as n's server log shows,
// after that offset, that n cannot follow primary's timeline.
func (n *Node) waitFollowing(ctx context.Context, primary *Node, logOffset int64) error {
	var lsn, walfile string
	err := primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text, pg_walfile_name(pg_current_wal_flush_lsn())").Scan(&lsn, &walfile)
	})
	if err != nil {
		return n.errorf("wait for streaming of", fmt.Errorf("new primary %s: %w", primary.name, err))
	}
	tli, err := strconv.ParseInt(walfile[:8], 16, 64)
	if err != nil {
		return n.errorf("wait for streaming of", fmt.Errorf("wal file name %q: %w", walfile, err))
	}
	const q = `SELECT coalesce((SELECT status = 'streaming' AND sender_port = $1 AND received_tli = $2
		FROM pg_stat_wal_receiver), false) AND coalesce(pg_last_wal_replay_lsn() >= $3::pg_lsn, false)`
	var diverged bool
	err = poll(ctx, followTimeout, func(ctx context.Context) (bool, error) {
		if logOffset >= 0 && containsAny(n.logSince(logOffset), divergenceMarkers) {
			diverged = true
			return true, nil
		}
		var ok bool
		err := n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, q, primary.Port(), tli, lsn).Scan(&ok)
		})
		return ok, err
	}, func(last error) error {
		return n.withLog(n.errorf("wait for streaming of", fmt.Errorf("not streaming from %s (timeline %d, lsn %s): %v", primary.name, tli, lsn, last)))
	})
	if err != nil {
		return err
	}
	if diverged {
		return n.errorf("repoint", errDiverged)
	}
	return nil
}

// PauseReplay pauses WAL replay on a standby (pg_wal_replay_pause): it keeps
// receiving WAL but its data stops advancing, like a lagging replica.
func (n *Node) PauseReplay(ctx context.Context) error {
	return n.replayControl(ctx, "pause replay", "SELECT pg_wal_replay_pause()")
}

// ResumeReplay resumes WAL replay paused by PauseReplay.
func (n *Node) ResumeReplay(ctx context.Context) error {
	return n.replayControl(ctx, "resume replay", "SELECT pg_wal_replay_resume()")
}

func (n *Node) replayControl(ctx context.Context, op, q string) error {
	err := n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, q)
		return err
	})
	if err != nil {
		return n.errorf(op, err)
	}
	return nil
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
