package pgcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// baseSettings go into every node's postgresql.conf. port and
// unix_socket_directories are per node, on the postgres command line.
// full_page_writes stays on: pg_rewind refuses a source without it.
var baseSettings = [][2]string{
	{"listen_addresses", "127.0.0.1"},
	{"max_connections", "200"},
	{"shared_buffers", "32MB"},
	{"fsync", "off"},
	{"full_page_writes", "on"},
	{"wal_level", "replica"},
	{"max_wal_senders", "10"},
	{"max_replication_slots", "10"},
	{"wal_keep_size", "128MB"},
	{"hot_standby", "on"},
	{"hot_standby_feedback", "on"},
	{"wal_log_hints", "on"},
	{"wal_receiver_status_interval", "1s"},
	{"wal_retrieve_retry_interval", "200ms"},
	{"logging_collector", "off"},
	{"log_destination", "stderr"},
	{"log_line_prefix", "%m [%p] %q%a "},
	{"jit", "off"},
}

func (c *Cluster) initPrimary(ctx context.Context, n *Node) error {
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := c.runAs.writeFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return n.errorf("initdb", err)
	}
	_, err := c.runTool(ctx, c.dir, nil, "initdb",
		"-D", n.dataDir, "-U", superuser, "--pwfile="+pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C")
	_ = os.Remove(pwfile)
	if err != nil {
		return n.errorf("initdb", err)
	}
	if err := c.appendConf(n); err != nil {
		return n.errorf("initdb", err)
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	err = n.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+appDatabase)
		return err
	})
	if err != nil {
		return n.errorf("create database on", err)
	}
	return nil
}

func (c *Cluster) appendConf(n *Node) error {
	var b strings.Builder
	b.WriteString("\n# pgcluster\n")
	for _, kv := range baseSettings {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], quoteConf(kv[1]))
	}
	for _, kv := range c.tlsSettings {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], quoteConf(kv[1]))
	}
	keys := make([]string, 0, len(c.opts.Settings))
	for k := range c.opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, quoteConf(c.opts.Settings[k]))
	}
	f, err := os.OpenFile(filepath.Join(n.dataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// initReplica base-backs n up from primary (creating its slot), configures
// it as a standby and starts it, returning once it streams.
func (c *Cluster) initReplica(ctx context.Context, n, primary *Node) error {
	if err := c.baseBackup(ctx, n, primary, true); err != nil {
		return err
	}
	if err := n.writeStandbyConfig(primary); err != nil {
		return n.errorf("configure", err)
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	return n.waitFollowing(ctx, primary, -1)
}

// baseBackup fills n's (empty or absent) data directory from primary, with
// pg_basebackup when the binaries have it, else by copying the files.
func (c *Cluster) baseBackup(ctx context.Context, n, primary *Node, createSlot bool) error {
	if !c.hasTool("pg_basebackup") {
		return c.copyBackup(ctx, n, primary, createSlot)
	}
	args := []string{"-D", n.dataDir, "-d", primary.toolConninfo("pg_basebackup"),
		"-X", "stream", "-S", n.name, "--checkpoint=fast", "--no-sync", "--no-manifest"}
	if createSlot {
		args = append(args, "-C")
	}
	if _, err := c.runTool(ctx, n.dir, []string{"PGPASSWORD=" + c.password}, "pg_basebackup", args...); err != nil {
		return n.errorf("base backup", err)
	}
	return nil
}

// toolConninfo is a conninfo to n for a PostgreSQL program; the password goes
// in PGPASSWORD, never on a command line.
func (n *Node) toolConninfo(app string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable connect_timeout=5 application_name=%s",
		host, n.Port(), superuser, app)
}

// primaryConninfo is the primary_conninfo n uses to stream from primary.
func (n *Node) primaryConninfo(primary *Node) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s application_name=%s sslmode=disable connect_timeout=5",
		host, primary.Port(), superuser, n.c.password, n.name)
}

// writeStandbyConfig makes a stopped n start as a standby of primary.
func (n *Node) writeStandbyConfig(primary *Node) error {
	if err := n.c.runAs.writeFile(filepath.Join(n.dataDir, "standby.signal"), nil, 0o600); err != nil {
		return err
	}
	path := filepath.Join(n.dataDir, "postgresql.auto.conf")
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var b strings.Builder
	for line := range strings.Lines(string(old)) {
		k := strings.TrimSpace(line)
		if strings.HasPrefix(k, "primary_conninfo") || strings.HasPrefix(k, "primary_slot_name") {
			continue
		}
		b.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "primary_conninfo = %s\nprimary_slot_name = %s\n", quoteConf(n.primaryConninfo(primary)), quoteConf(n.name))
	return n.c.runAs.writeFile(path, []byte(b.String()), 0o600)
}

// makeSync makes replica the synchronous standby of primary and waits until
// the primary reports it as sync.
func (c *Cluster) makeSync(ctx context.Context, primary, replica *Node) error {
	err := primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = "+quoteLiteral("FIRST 1 ("+replica.name+")")); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "SELECT pg_reload_conf()")
		return err
	})
	if err != nil {
		return primary.errorf("sync replica on", err)
	}
	return poll(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		var state string
		err := primary.withConn(ctx, "postgres", func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, "SELECT coalesce((SELECT sync_state FROM pg_stat_replication WHERE application_name = $1), '')", replica.name).Scan(&state)
		})
		return state == "sync", err
	}, func(last error) error {
		return primary.errorf("sync replica on", fmt.Errorf("%s never became sync: %v", replica.name, last))
	})
}

// poll calls check every 100 ms until it reports done, ctx ends or timeout
// passes; each call gets at most 3 s. fail builds the error from the last
// check error.
func poll(ctx context.Context, timeout time.Duration, check func(context.Context) (bool, error), fail func(last error) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
		done, err := check(cctx)
		ccancel()
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fail(last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// quoteLiteral quotes s as an SQL / postgresql.conf string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteConf quotes s as a postgresql.conf string value (where a backslash escapes).
func quoteConf(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}
