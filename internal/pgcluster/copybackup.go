package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
)

// hasTool reports whether the cluster may run the optional program name
// (pg_basebackup, pg_rewind): some server builds ship only postgres and initdb.
func (c *Cluster) hasTool(name string) bool {
	return !c.opts.copyOnly && isProgram(filepath.Join(c.binDir, name))
}

// copyBackup fills n's (absent or empty) data directory with a base backup
// of primary made without pg_basebackup: PostgreSQL's low-level backup API
// (pg_backup_start / pg_backup_stop, pg_start_backup / pg_stop_backup before
// 15) in one session, the data files copied in between, and the backup_label
// the stop returns written into the copy. The copy has no WAL: as a standby
// it streams what it needs from primary through its replication slot, which
// exists before the backup starts and so keeps that WAL on primary.
func (c *Cluster) copyBackup(ctx context.Context, n, primary *Node, createSlot bool) error {
	if createSlot {
		if err := createSlotOn(ctx, primary, n.name); err != nil {
			return n.errorf("base backup", err)
		}
	}
	err := primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		var version int
		if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
			return err
		}
		start, stop := backupFuncs(version)
		if _, err := conn.Exec(ctx, start, "pgcluster "+n.name); err != nil {
			return fmt.Errorf("start backup: %w", err)
		}
		// An error below ends the session, which aborts the backup.
		if err := copyDataDir(ctx, primary.dataDir, n.dataDir, c.runAs); err != nil {
			return err
		}
		var label, spcmap string
		if err := conn.QueryRow(ctx, stop).Scan(&label, &spcmap); err != nil {
			return fmt.Errorf("stop backup: %w", err)
		}
		if err := c.runAs.writeFile(filepath.Join(n.dataDir, "backup_label"), []byte(label), 0o600); err != nil {
			return err
		}
		if spcmap != "" {
			return c.runAs.writeFile(filepath.Join(n.dataDir, "tablespace_map"), []byte(spcmap), 0o600)
		}
		return nil
	})
	if err != nil {
		return n.errorf("base backup (file copy)", err)
	}
	return nil
}

// backupFuncs returns the statements that start (with the label as $1 and a
// fast checkpoint) and stop a non-exclusive backup on a server of that
// server_version_num: PostgreSQL 15 renamed them and dropped exclusive mode.
// The stop does not wait for WAL archiving (the cluster archives nothing).
func backupFuncs(version int) (start, stop string) {
	if version >= 150000 {
		return "SELECT pg_backup_start($1, true)",
			"SELECT labelfile, spcmapfile FROM pg_backup_stop(false)"
	}
	return "SELECT pg_start_backup($1, true, false)",
		"SELECT labelfile, spcmapfile FROM pg_stop_backup(false, false)"
}

// createSlotOn makes the physical replication slot name on primary, reserving
// WAL from now on, unless it exists.
func createSlotOn(ctx context.Context, primary *Node, name string) error {
	return primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `SELECT pg_create_physical_replication_slot($1, true)
			WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, name)
		if err != nil {
			return fmt.Errorf("create slot %s on %s: %w", name, primary.name, err)
		}
		return nil
	})
}

// Files and directories of a data directory a base backup leaves out, as
// PostgreSQL's documentation of the low-level API (and pg_basebackup) does.
var (
	// skippedFiles are top-level files that belong to the running server or to
	// another backup or role.
	skippedFiles = map[string]bool{
		"postmaster.pid": true, "postmaster.opts": true, "current_logfiles": true,
		"backup_label": true, "backup_label.old": true,
		"tablespace_map": true, "tablespace_map.old": true,
		"standby.signal": true, "recovery.signal": true,
	}
	// emptiedDirs are top-level directories copied empty: the server
	// rebuilds their contents (pg_wal keeps its subdirectories and timeline
	// history files, which a standby may need to follow a promoted primary).
	emptiedDirs = map[string]bool{
		"pg_wal": true, "pg_replslot": true, "pg_dynshmem": true, "pg_notify": true,
		"pg_serial": true, "pg_snapshots": true, "pg_stat_tmp": true, "pg_subtrans": true,
	}
)

// pgControl is copied last, as pg_basebackup does.
var pgControl = filepath.Join("global", "pg_control")

// copyDataDir copies the data directory src of a running server into dst
// (created; it must not exist or be empty), giving every file to r. Files
// that vanish while it runs (a dropped table, a finished temporary file) are
// skipped: WAL replay from the backup's start recreates what matters.
func copyDataDir(ctx context.Context, src, dst string, r runAs) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dst, 0o700); err != nil {
		return err
	}
	if err := r.chown(dst); err != nil {
		return err
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		if skipInBackup(rel, d) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel == pgControl {
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link (a tablespace or a moved pg_wal): the file copy does not follow them", path)
		case d.IsDir():
			return makeDirLike(path, target, r)
		case d.Type().IsRegular():
			return copyFileLike(path, target, r)
		}
		return nil // sockets and the like: nothing of the cluster's state
	})
	if err != nil {
		return err
	}
	return copyFileLike(filepath.Join(src, pgControl), filepath.Join(dst, pgControl), r)
}

// skipInBackup reports whether the entry rel (relative to the data
// directory) stays out of a base backup.
func skipInBackup(rel string, d fs.DirEntry) bool {
	name := d.Name()
	if strings.HasPrefix(name, "pgsql_tmp") || name == "pg_internal.init" {
		return true
	}
	first, rest, nested := strings.Cut(rel, string(filepath.Separator))
	if !nested {
		return skippedFiles[rel]
	}
	if !emptiedDirs[first] {
		return false
	}
	// Inside an emptied directory: only pg_wal's subdirectories and history files stay.
	if first != "pg_wal" {
		return true
	}
	if d.IsDir() {
		return false
	}
	return strings.Contains(rest, string(filepath.Separator)) || !strings.HasSuffix(name, ".history")
}

func makeDirLike(src, dst string, r runAs) error {
	st, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return fs.SkipDir
	}
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, st.Mode().Perm()); err != nil {
		return err
	}
	return r.chown(dst)
}

func copyFileLike(src, dst string, r runAs) error {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return r.chown(dst)
}
