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

Exit status: 0 done, 1 failure (including down with nothing to roll back),
2 usage error.`

// noMigrations says why there is no SQL migration: none is handed.
const noMigrations = "no SQL migrations: set migrations_dir (a directory of NNNNN_name.sql files) in the configuration"

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migrate", "<up|status|down>", migrateDescription)
	var lf liveFlags
	lf.register(fs, true, 0)
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
	if s.cfg.MigrationHost == "" || action == "up" {
		// The migrations run on the primary: say now why there is none.
		if err := s.waitReady("migrate "+action, lf.wait); err != nil {
			return exitFail
		}
	}

	switch action {
	case "up":
		start := time.Now()
		res, err := s.m.Migrate(s.ctx)
		if lf.json {
			printJSON(s.stdout, map[string]any{"tables": s.m.Registry().Tables(), "applied": resultsJSON(res)})
		} else {
			if err == nil && len(s.m.Registry().Tables()) > 0 {
				fmt.Fprintf(s.stdout, "AutoMigrate: %d model table(s) up to date: %v\n", len(s.m.Registry().Tables()), s.m.Registry().Tables())
			}
			for _, r := range res {
				fmt.Fprintf(s.stdout, "applied %s (%s)\n", r.Source, r.Duration.Round(time.Millisecond))
			}
			switch {
			case err == nil && s.m.Config().MigrationsDir == "":
				fmt.Fprintln(s.stdout, noMigrations)
			case err == nil && len(res) == 0:
				fmt.Fprintln(s.stdout, "SQL migrations: nothing to apply")
			}
			if err == nil {
				fmt.Fprintf(s.stdout, "done in %s\n", time.Since(start).Round(time.Millisecond))
			}
		}
		if err != nil {
			return fail(err)
		}
	case "status":
		r, err := s.m.Migrations()
		if errors.Is(err, migrations.ErrNoMigrations) && s.m.Config().MigrationsDir == "" {
			if lf.json {
				printJSON(s.stdout, []migrationStatusJSON{})
			} else {
				fmt.Fprintln(s.stdout, noMigrations)
			}
			break
		}
		if err != nil {
			return fail(err)
		}
		defer r.Close()
		st, err := r.Status(s.ctx)
		if err != nil {
			return fail(err)
		}
		if lf.json {
			printJSON(s.stdout, statusJSON(st))
			break
		}
		tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
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
		fmt.Fprintf(s.stdout, "%d migration(s), %d pending\n", len(st), pending)
	case "down":
		r, err := s.m.Migrations()
		if errors.Is(err, migrations.ErrNoMigrations) && s.m.Config().MigrationsDir == "" {
			return fail(errors.New("nothing to roll back: " + noMigrations))
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
		if lf.json {
			printJSON(s.stdout, resultsJSON([]migrations.Result{res})[0])
		} else {
			fmt.Fprintf(s.stdout, "rolled back %s (%s)\n", res.Source, res.Duration.Round(time.Millisecond))
		}
	}
	return exitOK
}

type resultJSON struct {
	Version    int64   `json:"version"`
	Source     string  `json:"source"`
	Direction  string  `json:"direction"`
	DurationMs float64 `json:"duration_ms"`
}

func resultsJSON(in []migrations.Result) []resultJSON {
	out := make([]resultJSON, 0, len(in))
	for _, r := range in {
		out = append(out, resultJSON{r.Version, r.Source, r.Direction, float64(r.Duration.Microseconds()) / 1000})
	}
	return out
}

type migrationStatusJSON struct {
	Version   int64      `json:"version"`
	Source    string     `json:"source"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

func statusJSON(in []migrations.Status) []migrationStatusJSON {
	out := make([]migrationStatusJSON, 0, len(in))
	for _, s := range in {
		j := migrationStatusJSON{Version: s.Version, Source: s.Source, Applied: s.Applied}
		if s.Applied {
			at := s.AppliedAt
			j.AppliedAt = &at
		}
		out = append(out, j)
	}
	return out
}
