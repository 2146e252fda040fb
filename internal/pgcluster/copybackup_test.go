package pgcluster

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFailoverWithoutTools: with the binaries' pg_basebackup and pg_rewind
// out of use (as in builds that ship only postgres and initdb), replicas are
// made by the file copy, and after a failover the crashed old primary
// rejoins by a re-copy, whatever the machine's version.
func TestFailoverWithoutTools(t *testing.T) {
	c := startCluster(t, Options{Replicas: 2, copyOnly: true})
	ctx := testCtx(t)
	primary, r1, r2 := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	for _, r := range []*Node{r1, r2} {
		// Recovery renames the backup_label it started from.
		label, err := os.ReadFile(filepath.Join(r.DataDir(), "backup_label.old"))
		require.NoError(t, err)
		require.Contains(t, string(label), "LABEL: pgcluster "+r.Name(), "not made by the file copy")
	}
	require.NoError(t, primary.Exec(ctx, "CREATE TABLE f (id int PRIMARY KEY)"))
	insert(t, primary, "f", 1)
	requireRow(t, r1, "f", 1)
	requireRow(t, r2, "f", 1)

	require.NoError(t, primary.Kill())
	require.NoError(t, r1.Promote(ctx))
	require.NoError(t, r2.Repoint(ctx, r1))
	insert(t, r1, "f", 2)
	requireRow(t, r2, "f", 2)

	require.NoError(t, primary.Repoint(ctx, r1))
	rec, err := primary.InRecovery(ctx)
	require.NoError(t, err)
	require.True(t, rec)
	label, err := os.ReadFile(filepath.Join(primary.DataDir(), "backup_label.old"))
	require.NoError(t, err)
	require.Contains(t, string(label), "LABEL: pgcluster primary", "the old primary was not re-copied")
	insert(t, r1, "f", 3)
	requireRow(t, primary, "f", 3)
	requireRow(t, r2, "f", 3)
}

// TestBackupFuncs: PostgreSQL 15 renamed the low-level backup functions and
// dropped exclusive backups; 14 needs the old names with exclusive = false.
func TestBackupFuncs(t *testing.T) {
	start, stop := backupFuncs(140023)
	require.Equal(t, "SELECT pg_start_backup($1, true, false)", start, "PostgreSQL 14")
	require.Equal(t, "SELECT labelfile, spcmapfile FROM pg_stop_backup(false, false)", stop, "PostgreSQL 14")
	for _, v := range []int{150000, 160014, 170010, 180004} {
		start, stop := backupFuncs(v)
		require.Equal(t, "SELECT pg_backup_start($1, true)", start, v)
		require.Equal(t, "SELECT labelfile, spcmapfile FROM pg_backup_stop(false)", stop, v)
	}
}

func TestSkipInBackup(t *testing.T) {
	for rel, skip := range map[string]bool{
		"postmaster.pid":                       true,
		"postmaster.opts":                      true,
		"backup_label":                         true,
		"standby.signal":                       true,
		"PG_VERSION":                           false,
		"postgresql.auto.conf":                 false,
		"base/1/1259":                          false,
		"base/pgsql_tmp":                       true,
		"base/5/pgsql_tmp123.0":                true,
		"global/pg_internal.init":              true,
		"pg_wal":                               false,
		"pg_wal/000000010000000000000003":      true,
		"pg_wal/00000002.history":              false,
		"pg_wal/archive_status":                false,
		"pg_wal/archive_status/0000.done":      true,
		"pg_replslot":                          false,
		"pg_replslot/replica1":                 true,
		"pg_replslot/replica1/state":           true,
		"pg_stat_tmp/global.stat":              true,
		"pg_subtrans/0000":                     true,
		"pg_xact/0000":                         false,
		"pg_multixact/offsets/0000":            false,
		"pg_logical/replorigin_checkpoint":     false,
		"pg_notify/0000":                       true,
		"pg_snapshots/00000003-00000002-1":     true,
		"pg_dynshmem/mmap.1":                   true,
		"pg_serial/0000":                       true,
		"pg_tblspc":                            false,
		"pg_stat/pgstat.stat":                  false,
		"pg_commit_ts":                         false,
		"pg_wal/summaries":                     false,
		"pg_wal/summaries/0000000100.summary":  true,
		"global/pg_control":                    false,
		"base/16384/PG_VERSION":                false,
		"current_logfiles":                     true,
		"recovery.signal":                      true,
		"tablespace_map":                       true,
		"backup_label.old":                     true,
		"pg_wal/00000002.history.partial.junk": true,
	} {
		dir := rel == "pg_wal" || rel == "pg_wal/archive_status" || rel == "pg_wal/summaries" ||
			rel == "pg_replslot" || rel == "pg_replslot/replica1" || rel == "base/pgsql_tmp" || rel == "pg_tblspc" || rel == "pg_commit_ts"
		require.Equal(t, skip, skipInBackup(filepath.FromSlash(rel), fakeEntry{name: filepath.Base(rel), dir: dir}), rel)
	}
}

type fakeEntry struct {
	name string
	dir  bool
}

func (e fakeEntry) Name() string { return e.name }
func (e fakeEntry) IsDir() bool  { return e.dir }
func (e fakeEntry) Type() fs.FileMode {
	if e.dir {
		return fs.ModeDir
	}
	return 0
}
func (e fakeEntry) Info() (fs.FileInfo, error) { return nil, fs.ErrInvalid }

// TestCopyDataDir copies what a backup keeps and refuses what it cannot
// copy faithfully (a tablespace link), and stops when its context ends.
func TestCopyDataDir(t *testing.T) {
	src := t.TempDir()
	for path, body := range map[string]string{
		"PG_VERSION":                      "17\n",
		"global/pg_control":               "control",
		"base/1/1259":                     "rel",
		"pg_wal/000000010000000000000001": "wal",
		"pg_wal/00000002.history":         "1\t0/3000000\tno recovery target specified\n",
		"postmaster.pid":                  "123\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(path)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(src, path), []byte(body), 0o600))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(src, "pg_wal", "archive_status"), 0o700))
	r := runAs{} // ourselves: no chown

	dst := filepath.Join(t.TempDir(), "data")
	require.NoError(t, copyDataDir(context.Background(), src, dst, r))
	for path, want := range map[string]bool{
		"PG_VERSION": true, "global/pg_control": true, "base/1/1259": true, "pg_wal/00000002.history": true,
		"pg_wal/archive_status": true, "pg_wal/000000010000000000000001": false, "postmaster.pid": false,
	} {
		_, err := os.Stat(filepath.Join(dst, path))
		require.Equal(t, want, err == nil, "%s: %v", path, err)
	}
	st, err := os.Stat(dst)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o700), st.Mode().Perm(), "PostgreSQL refuses a group- or world-readable data directory")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, copyDataDir(ctx, src, filepath.Join(t.TempDir(), "data"), r), context.Canceled)

	require.NoError(t, os.MkdirAll(filepath.Join(src, "pg_tblspc"), 0o700))
	require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(src, "pg_tblspc", "16400")))
	err = copyDataDir(context.Background(), src, filepath.Join(t.TempDir(), "data"), r)
	require.ErrorContains(t, err, "symbolic link")
}

// TestBinDirEnv: UNIFIEDDB_PG_BINDIR chooses the binaries when
// Options.BinDir is empty, and one without postgres and initdb is refused.
func TestBinDirEnv(t *testing.T) {
	real, err := findBinDir("")
	require.NoError(t, err)
	t.Setenv(BinDirEnv, real)
	got, err := FindBinDir("")
	require.NoError(t, err)
	require.Equal(t, real, got)

	empty := t.TempDir()
	t.Setenv(BinDirEnv, empty)
	_, err = FindBinDir("")
	require.ErrorIs(t, err, ErrNoServerBinaries)
	_, err = Start(context.Background(), Options{})
	require.ErrorIs(t, err, ErrNoServerBinaries)

	// Only postgres and initdb are required; the tools are optional.
	for _, name := range []string{"postgres", "initdb"} {
		require.NoError(t, os.WriteFile(filepath.Join(empty, name), []byte("#!/bin/sh\n"), 0o755))
	}
	got, err = FindBinDir("")
	require.NoError(t, err)
	require.Equal(t, empty, got)
	require.Equal(t, []string{"pg_basebackup", "pg_rewind"}, MissingTools(empty))
}
