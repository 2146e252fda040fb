package pgcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// removeStaleDirs removes, best effort, cluster directories under base left
// by processes that no longer exist. A directory is kept while its owner
// lives, while it is too young to have its owner.pid, or while a postmaster
// it records is still alive.
func removeStaleDirs(base string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPattern))
	for _, d := range dirs {
		st, err := os.Lstat(d)
		if err != nil || !st.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			if time.Since(st.ModTime()) < time.Minute {
				continue
			}
		} else if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || pid == os.Getpid() || pidAlive(pid) {
			continue
		}
		if anyPostmasterAlive(d) {
			continue
		}
		if err := os.RemoveAll(d); err == nil && logf != nil {
			logf("pgcluster: removed stale %s", d)
		}
	}
}

func anyPostmasterAlive(clusterDir string) bool {
	pids, _ := filepath.Glob(filepath.Join(clusterDir, "*", "data", "postmaster.pid"))
	for _, p := range pids {
		if pid, err := ReadPID(p); err == nil && pidAlive(pid) {
			return true
		}
	}
	return false
}
