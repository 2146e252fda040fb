package pgcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxReplicas keeps the replica count within max_wal_senders and
// max_replication_slots (10 each) with room for base backups and rewinds.
const maxReplicas = 8

// Options configures Start. The zero value is a primary without replicas,
// using the machine's binaries and os.TempDir(); DefaultOptions gives the
// usual primary plus two replicas.
type Options struct {
	// Replicas is the number of streaming replicas, named replica1, replica2, ...
	// 0 means none; negative values and values above 8 are rejected.
	Replicas int
	// SyncReplica makes replica1 a synchronous standby
	// (synchronous_standby_names = 'FIRST 1 (replica1)'). Requires Replicas >= 1.
	// Start returns once replica1 is reported as sync by the primary.
	SyncReplica bool
	// BinDir is the directory holding postgres and initdb, and, when there,
	// pg_basebackup and pg_rewind (without them replicas are made and rejoined
	// by copying the primary's files). "" finds them: $UNIFIEDDB_PG_BINDIR
	// (which `PG_VERSION=17 make test` sets), else the directory of
	// postgres/initdb on PATH, else the highest version of
	// /usr/lib/postgresql/*/bin.
	BinDir string
	// BaseDir is where the cluster directory "unifieddb-pgcluster-*" is made.
	// "" means os.TempDir(). When running as root it must be traversable by the
	// postgres OS user (os.TempDir() is; t.TempDir() is not).
	BaseDir string
	// Logf, if set, receives progress messages. Passwords never appear in them.
	Logf func(format string, args ...any)
	// Settings are extra postgresql.conf settings for every node, applied after
	// (and so overriding) the package's own settings, except port and
	// unix_socket_directories which are per node. Values are quoted for you.
	Settings map[string]string
	// TLS turns ssl on in every node with a self-signed certificate made for
	// the cluster, so clients can connect with sslmode=require.
	TLS bool
	// Dir, if set, is the cluster directory itself instead of a new
	// "unifieddb-pgcluster-*" under BaseDir: it is created and must not
	// exist yet or be empty. Close removes it as usual.
	Dir string
	// Detach starts the servers in a session of their own and without the
	// parent-death signal, so that they keep running after this process
	// exits (and Ctrl-C in its terminal does not reach them). Close still
	// stops them; Release leaves them running. StopDir stops them later from
	// any process.
	Detach bool
	// StartTimeout bounds how long one server may take to accept connections.
	// 0 means 60 s. The ctx passed to Start and Node.Start bounds it as well.
	StartTimeout time.Duration

	// copyOnly makes replicas by copying files even where pg_basebackup and
	// pg_rewind exist, so tests prove that path on any machine.
	copyOnly bool
}

// DefaultOptions returns the usual test topology: a primary and two
// asynchronous replicas.
func DefaultOptions() Options {
	return Options{Replicas: 2}
}

var settingName = regexp.MustCompile(`^[a-z_][a-z0-9_.]*$`)

func (o Options) validate() error {
	if o.Replicas < 0 || o.Replicas > maxReplicas {
		return fmt.Errorf("pgcluster: options: Replicas must be in [0, %d], got %d", maxReplicas, o.Replicas)
	}
	if o.SyncReplica && o.Replicas < 1 {
		return fmt.Errorf("pgcluster: options: SyncReplica needs at least one replica")
	}
	if o.StartTimeout < 0 {
		return fmt.Errorf("pgcluster: options: StartTimeout must not be negative")
	}
	for k := range o.Settings {
		if !settingName.MatchString(k) {
			return fmt.Errorf("pgcluster: options: invalid setting name %q", k)
		}
		switch k {
		case "port", "unix_socket_directories":
			return fmt.Errorf("pgcluster: options: setting %q is managed per node", k)
		}
	}
	return nil
}

func (o Options) startTimeout() time.Duration {
	if o.StartTimeout == 0 {
		return 60 * time.Second
	}
	return o.StartTimeout
}

// requiredBinaries are the programs the cluster cannot do without;
// pg_basebackup and pg_rewind are used when present (see Cluster.hasTool).
var requiredBinaries = []string{"postgres", "initdb"}

// BinDirEnv names the environment variable that chooses the server binaries
// when Options.BinDir is "" (the Makefile's PG_VERSION sets it).
const BinDirEnv = "UNIFIEDDB_PG_BINDIR"

// findBinDir returns dir if set, else $UNIFIEDDB_PG_BINDIR, else the
// PostgreSQL server binary directory of the machine, checking that every
// required program is there.
func findBinDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(BinDirEnv)
	}
	if dir != "" {
		if err := checkBinDir(dir); err != nil {
			return "", err
		}
		return dir, nil
	}
	var candidates []string
	for _, name := range []string{"postgres", "initdb"} {
		if p, err := exec.LookPath(name); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	candidates = append(candidates, versionedBinDirs("/usr/lib/postgresql")...)
	for _, c := range candidates {
		if checkBinDir(c) == nil {
			return c, nil
		}
	}
	return "", ErrNoServerBinaries
}

// versionedBinDirs lists root/*/bin, highest major version first.
func versionedBinDirs(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	type v struct {
		n   float64
		dir string
	}
	var vs []v
	for _, e := range entries {
		n, err := strconv.ParseFloat(e.Name(), 64)
		if err != nil {
			continue
		}
		vs = append(vs, v{n, filepath.Join(root, e.Name(), "bin")})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].n > vs[j].n })
	dirs := make([]string, len(vs))
	for i := range vs {
		dirs[i] = vs[i].dir
	}
	return dirs
}

// optionalTools are used when binDir has them.
var optionalTools = []string{"pg_basebackup", "pg_rewind"}

func checkBinDir(dir string) error {
	var missing []string
	for _, b := range requiredBinaries {
		if !isProgram(filepath.Join(dir, b)) {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks %s", ErrNoServerBinaries, dir, strings.Join(missing, ", "))
	}
	return nil
}

// isProgram reports whether path is an executable file.
func isProgram(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
