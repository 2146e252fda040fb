package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
)

const demoDescription = `
Start a throwaway PostgreSQL cluster on this machine (a primary and two
streaming replicas on 127.0.0.1, data in a temporary directory), open a
Manager on it and show where each mode sends statements: writes in
read_write, reads in auto and read_only, a write refused in read_only, and
the effective configuration. Everything is removed at the end, on Ctrl-C
too. Needs the PostgreSQL server binaries (make demo installs them).`

// startCluster is pgcluster.Start; tests wrap it to learn the password.
var startCluster = pgcluster.Start

// Statement counts of the "who served what" section.
const (
	demoUsers  = 10
	demoReads  = 20
	demoWrites = 10
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "", demoDescription)
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if code, done := noArgs(fs, stderr); done {
		return code
	}
	if err := demo(ctx, stdout, stderr); err != nil {
		if ctx.Err() != nil {
			// The error is only the echo of the interruption.
			fmt.Fprintln(stderr, "unifieddb demo: interrupted; the cluster was stopped and removed")
			return exitFail
		}
		fmt.Fprintln(stderr, "unifieddb demo:", err)
		if errors.Is(err, pgcluster.ErrNoServerBinaries) {
			fmt.Fprintln(stderr, "Install them with `make demo` (as root it installs Debian's postgresql package) or scripts/ensure-postgres.sh.")
		}
		return exitFail
	}
	return exitOK
}

// demoOut writes the demo's sections.
type demoOut struct {
	w       io.Writer
	section int
}

func (o *demoOut) heading(title string) {
	o.section++
	if o.section > 1 {
		fmt.Fprintln(o.w)
	}
	fmt.Fprintf(o.w, "== %d. %s\n", o.section, title)
}

func (o *demoOut) line(format string, args ...any) {
	fmt.Fprintf(o.w, "   "+format+"\n", args...)
}

// table writes aligned rows, indented like the lines.
func (o *demoOut) table(rows [][]string) {
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "   %s\n", strings.Join(r, "\t"))
	}
	tw.Flush()
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func demo(ctx context.Context, stdout, stderr io.Writer) (err error) {
	o := &demoOut{w: stdout}
	fmt.Fprintln(stdout, "unifieddb demo: one Manager in front of a primary and two replicas")
	fmt.Fprintln(stdout)

	o.heading("Start a local PostgreSQL cluster")
	begin := time.Now()
	opts := pgcluster.DefaultOptions()
	opts.SyncReplica = true // replica1 confirms every commit: a failover loses nothing acknowledged
	c, err := startCluster(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting the cluster: %w", err)
	}
	defer func() {
		start := time.Now()
		cerr := c.Close()
		if err == nil && cerr == nil {
			o.heading("Clean up")
			o.line("cluster stopped and its directory removed in %s", ms(time.Since(start)))
		}
		err = errors.Join(err, cerr)
	}()
	o.line("started in %s (data in %s)", ms(time.Since(begin)), c.Dir())
	names := map[int]string{} // port → node name
	rows := [][]string{{"NODE", "ADDRESS", "ROLE"}}
	for _, n := range c.Nodes() {
		names[n.Port()] = n.Name()
		role := "primary"
		if rec, err := n.InRecovery(ctx); err != nil {
			return err
		} else if rec {
			role = "replica (streaming from primary)"
		}
		rows = append(rows, []string{n.Name(), n.Addr(), role})
	}
	o.table(rows)

	o.heading("Open a Manager")
	cfg := testenv.Config(c)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tl := &timeline{names: map[string]string{}}
	for _, n := range c.Nodes() {
		tl.names[n.Addr()] = n.Name()
	}
	// The demo is prompt-improver, the library's first application: it opts
	// in explicitly (its models registered, its SQL migrations handed).
	m, err := promptimprover.Open(ctx, cfg, datalayer.WithLogger(log), datalayer.WithHooks(tl.hooks()))
	if err != nil {
		return err
	}
	defer m.Close()
	o.line("promptimprover.Open(ctx, cfg) (datalayer.New with prompt-improver's models and migrations): host %s:%d, replica_hosts %s",
		cfg.Host, cfg.Port, strings.Join(cfg.ReplicaHosts, ", "))
	begin = time.Now()
	applied, err := m.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	o.line("m.Migrate(ctx): tables %s and %d SQL migration(s) in %s",
		strings.Join(m.Registry().Tables(), ", "), len(applied), ms(time.Since(begin)))

	o.heading("Write in read_write mode")
	users := make([]models.User, demoUsers)
	for i := range users {
		users[i] = models.User{Name: fmt.Sprintf("User %d", i+1), Email: fmt.Sprintf("user%d@example.test", i+1), Active: i%3 != 0}
	}
	begin = time.Now()
	if err := m.Conn(ctx, datalayer.ReadWrite).Create(&users).Error; err != nil {
		return fmt.Errorf("creating users: %w", err)
	}
	o.line("m.Conn(ctx, datalayer.ReadWrite).Create(&users): %d users in %s", len(users), ms(time.Since(begin)))
	begin = time.Now()
	if err := waitReplicas(ctx, c, len(users)); err != nil {
		return err
	}
	o.line("both replicas replayed them after %s", ms(time.Since(begin)))

	o.heading("Read in auto and read_only modes")
	rows = [][]string{{"CALL", "USERS", "TIME"}}
	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly} {
		var got []models.User
		begin = time.Now()
		if err := m.Conn(ctx, mode).Order("id").Find(&got).Error; err != nil {
			return fmt.Errorf("reading users in %s: %w", mode, err)
		}
		rows = append(rows, []string{fmt.Sprintf("m.Conn(ctx, datalayer.%s).Find(&users)", goName(mode)),
			fmt.Sprint(len(got)), ms(time.Since(begin))})
	}
	var first models.User
	if err := m.Conn(ctx, datalayer.Auto).First(&first, users[0].ID).Error; err != nil {
		return fmt.Errorf("reading user %d: %w", users[0].ID, err)
	}
	o.table(rows)
	o.line("First(&user, %d): %q <%s>", first.ID, first.Name, first.Email)

	o.heading("Who served what")
	o.line("each statement returns inet_server_port(), the port of the server that ran it")
	nodes := c.Nodes()
	header := []string{"MODE", "STATEMENTS"}
	for _, n := range nodes {
		header = append(header, n.Name())
	}
	rows = [][]string{header}
	for _, s := range []struct {
		mode  datalayer.Mode
		what  string
		count int
		serve func(db *servedBy) error
	}{
		{datalayer.Auto, "model reads", demoReads, (*servedBy).modelRead},
		{datalayer.ReadOnly, "model reads", demoReads, (*servedBy).modelRead},
		{datalayer.ReadWrite, "writes", demoWrites, (*servedBy).write},
	} {
		sb := &servedBy{m: m, ctx: ctx, mode: s.mode, id: users[0].ID, ports: map[int]int{}}
		for range s.count {
			if err := s.serve(sb); err != nil {
				return fmt.Errorf("%s %s: %w", s.mode, s.what, err)
			}
		}
		row := []string{s.mode.String(), fmt.Sprintf("%d %s", s.count, s.what)}
		for _, n := range nodes {
			row = append(row, fmt.Sprint(sb.ports[n.Port()]))
			delete(sb.ports, n.Port())
		}
		if len(sb.ports) > 0 {
			return fmt.Errorf("%s: statements served by unknown ports %v", s.mode, sb.ports)
		}
		rows = append(rows, row)
	}
	o.table(rows)
	o.line("auto and read_only spread reads over the replicas; writes go to the primary")

	o.heading("A write in read_only mode is refused")
	werr := m.Conn(ctx, datalayer.ReadOnly).Create(&models.User{Name: "Nobody", Email: "nobody@example.test"}).Error
	if werr == nil {
		return errors.New("a write in read_only mode succeeded")
	}
	o.line("m.Conn(ctx, datalayer.ReadOnly).Create(&user)")
	o.line("  error: %v", werr)
	o.line("  errors.Is(err, datalayer.ErrReadOnly) = %t (refused before it was sent)", errors.Is(werr, datalayer.ErrReadOnly))
	if !errors.Is(werr, datalayer.ErrReadOnly) {
		return fmt.Errorf("a write in read_only mode failed with an unexpected error: %w", werr)
	}

	if err := demoFailover(ctx, o, c, m, tl); err != nil {
		return fmt.Errorf("failover act: %w", err)
	}

	o.heading("Effective configuration (password redacted)")
	y, err := m.Config().Redacted().MarshalYAML()
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
		o.line("%s", l)
	}
	o.line("(internal/testenv.Config: DefaultConfig() with the cluster's addresses and test timeouts)")

	if err := m.Close(); err != nil {
		return err
	}
	return nil
}

// servedBy runs statements in one mode and counts them by server port.
type servedBy struct {
	m     *datalayer.Manager
	ctx   context.Context
	mode  datalayer.Mode
	id    uint
	ports map[int]int
}

// modelRead is a model query (no raw SQL), so it is routed as a read.
func (s *servedBy) modelRead() error {
	var port int
	err := s.m.Conn(s.ctx, s.mode).Model(&models.User{}).Select("inet_server_port()").Where("id = ?", s.id).Scan(&port).Error
	s.ports[port]++
	return err
}

// write updates one user and returns the server's port with the new row.
func (s *servedBy) write() error {
	var port int
	err := s.m.Conn(s.ctx, s.mode).
		Raw("UPDATE users SET updated_at = now() WHERE id = ? RETURNING inet_server_port()", s.id).
		Scan(&port).Error
	s.ports[port]++
	return err
}

// waitReplicas polls every replica until it has want users.
func waitReplicas(ctx context.Context, c *pgcluster.Cluster, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, n := range c.Nodes()[1:] {
		for {
			got, err := n.QueryInt(ctx, "SELECT count(*) FROM users")
			if err == nil && got >= int64(want) {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for %s to replay the users: %w", n.Name(), errors.Join(ctx.Err(), err))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// goName is the Go identifier of a mode: datalayer.ReadOnly.
func goName(m datalayer.Mode) string {
	var b strings.Builder
	for _, part := range strings.Split(m.String(), "_") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
