package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/prompt-improver/unifieddb/migrations"
)

const migrateDescription = `
Change or show the schema of the configured database, on the primary.
The SQL migrations are the application's, in the directory migrations_dir of
the configuration (NNNNN_name.sql, goose format); without it there are none.
The tool knows no Go model: an application migrates its models itself
(Manager.AutoMigrate or Manager.Migrate).

  up       apply the pending SQL migrations, under an advisory lock
           (several instances may run it at once)
  status   list the SQL migrations and whether each is applied
  down     roll back the most recently applied SQL migration

With named clusters (clusters: in the configuration) each has its own SQL
migrations (clusters.NAME.migrations_dir), run on its own primary or
migration_host: up and status work on every cluster, the default one first,
each line prefixed "cluster NAME: " (status: a section per cluster); down on
the default cluster. --cluster NAME works on that cluster only.

Exit status: 0 done, 1 failure (including down with nothing to roll back),
2 usage error.`

// noMigrations says why there is no SQL migration: none is handed.
const noMigrations = "no SQL migrations: set migrations_dir (a directory of NNNNN_name.sql files) in the configuration"

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migrate", "<up|status|down>", migrateDescription)
	var lf liveFlags
	lf.register(fs, true, 0)
	var only string
	fs.StringVar(&only, "cluster", "", "work on the cluster `NAME` only (default: every cluster for up and status, the default cluster for down)")
	pos, code, done := parseArgs(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) == 0 {
		return usageError(fs, stderr, "missing up, status or down")
	}
	action := pos[0]
	switch action {
	case "up", "status", "down":
	default:
		return usageError(fs, stderr, "unknown action %q: want up, status or down", action)
	}
	if len(pos) > 1 {
		return usageError(fs, stderr, "unexpected argument %q", pos[1])
	}
	if code, done := lf.check(fs, stderr); done {
		return code
	}
	s, code := lf.open(ctx, "migrate", stdout, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	fail := func(err error) int {
		fmt.Fprintf(s.stderr, "unifieddb migrate %s: %v\n", action, err)
		return exitFail
	}
	targets, err := migrateTargets(s.cfg, action, only)
	if err != nil {
		return fail(err)
	}
	if needPrimary(action, targets) {
		// The migrations run on the primary: say now why there is none.
		if err := s.waitReady("migrate "+action, lf.wait); err != nil {
			return exitFail
		}
	}

	switch action {
	case "up":
		return migrateUp(s, lf.json, only, targets, fail)
	case "status":
		return migrateStatus(s, lf.json, targets, fail)
	case "down":
		return migrateDown(s, lf.json, targets[0], fail)
	}
	return exitOK
}

// migrateUp is `migrate up`: Migrate on every cluster, or the SQL
// migrations of only's.
func migrateUp(s *session, asJSON bool, only string, targets []migrateTarget, fail func(error) int) int {
	start := time.Now()
	var res []migrations.Result
	var err error
	if only == "" {
		res, err = s.m.Migrate(s.ctx)
	} else {
		res, err = upOn(s, targets[0])
	}
	if asJSON {
		printJSON(s.stdout, map[string]any{"tables": s.m.Registry().Tables(), "applied": resultsJSON(res)})
	} else {
		if err == nil && len(s.m.Registry().Tables()) > 0 {
			fmt.Fprintf(s.stdout, "AutoMigrate: %d model table(s) up to date: %v\n", len(s.m.Registry().Tables()), s.m.Registry().Tables())
		}
		printApplied(s.stdout, targets, res, err)
		if err == nil {
			fmt.Fprintf(s.stdout, "done in %s\n", time.Since(start).Round(time.Millisecond))
		}
	}
	if err != nil {
		return fail(err)
	}
	return exitOK
}

// upOn applies the pending SQL migrations of one cluster; none handed is no
// error (printApplied says so).
func upOn(s *session, t migrateTarget) ([]migrations.Result, error) {
	r, err := s.m.MigrationsOn(t.name)
	if errors.Is(err, migrations.ErrNoMigrations) && t.dir == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Up(s.ctx)
}

// migrateStatus is `migrate status`: each cluster's migrations, a section
// per cluster when there are several.
func migrateStatus(s *session, asJSON bool, targets []migrateTarget, fail func(error) int) int {
	all := []migrationStatusJSON{}
	for i, t := range targets {
		r, err := s.m.MigrationsOn(t.name)
		if t.label != "" && !asJSON {
			if i > 0 {
				fmt.Fprintln(s.stdout)
			}
			fmt.Fprintln(s.stdout, "cluster "+t.name)
		}
		if errors.Is(err, migrations.ErrNoMigrations) && t.dir == "" {
			if !asJSON {
				fmt.Fprintln(s.stdout, t.noMigrations())
			}
			continue
		}
		if err != nil {
			return fail(err)
		}
		st, err := r.Status(s.ctx)
		r.Close()
		if err != nil {
			return fail(err)
		}
		if asJSON {
			all = append(all, statusJSON(t.label, st)...)
			continue
		}
		printStatus(s.stdout, st)
	}
	if asJSON {
		printJSON(s.stdout, all)
	}
	return exitOK
}

// printStatus prints one cluster's migrations as a table and a summary.
func printStatus(w io.Writer, st []migrations.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	pending := 0
	for _, m := range st {
		applied := "pending"
		if m.Applied {
			applied = m.AppliedAt.Format(time.RFC3339)
		} else {
			pending++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Source, applied)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d migration(s), %d pending\n", len(st), pending)
}

// migrateDown is `migrate down`: roll back one cluster's last migration.
func migrateDown(s *session, asJSON bool, t migrateTarget, fail func(error) int) int {
	r, err := s.m.MigrationsOn(t.name)
	if errors.Is(err, migrations.ErrNoMigrations) && t.dir == "" {
		return fail(errors.New("nothing to roll back: " + t.noMigrations()))
	}
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	res, err := r.Down(s.ctx)
	if errors.Is(err, migrations.ErrNothingToRollBack) {
		return fail(errors.New("nothing to roll back: no SQL migration is applied"))
	}
	if err != nil {
		return fail(err)
	}
	if asJSON {
		printJSON(s.stdout, resultsJSON([]migrations.Result{res})[0])
	} else {
		fmt.Fprintf(s.stdout, "%srolled back %s (%s)\n", t.prefix, res.Source, res.Duration.Round(time.Millisecond))
	}
	return exitOK
}

type resultJSON struct {
	Version    int64   `json:"version"`
	Source     string  `json:"source"`
	Direction  string  `json:"direction"`
	DurationMs float64 `json:"duration_ms"`
	Cluster    string  `json:"cluster,omitempty"` // with several clusters
}

func resultsJSON(in []migrations.Result) []resultJSON {
	out := make([]resultJSON, 0, len(in))
	for _, r := range in {
		out = append(out, resultJSON{r.Version, r.Source, r.Direction, float64(r.Duration.Microseconds()) / 1000, r.Cluster})
	}
	return out
}

type migrationStatusJSON struct {
	Version   int64      `json:"version"`
	Source    string     `json:"source"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	Cluster   string     `json:"cluster,omitempty"` // with several clusters
}

// statusJSON is in as JSON, each entry labelled with cluster (none: "").
func statusJSON(cluster string, in []migrations.Status) []migrationStatusJSON {
	out := make([]migrationStatusJSON, 0, len(in))
	for _, s := range in {
		j := migrationStatusJSON{Version: s.Version, Source: s.Source, Applied: s.Applied, Cluster: cluster}
		if s.Applied {
			at := s.AppliedAt
			j.AppliedAt = &at
		}
		out = append(out, j)
	}
	return out
}
