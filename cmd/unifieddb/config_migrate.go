package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prompt-improver/unifieddb/datalayer"
)

const configMigrateDescription = `
Turn a legacy configuration (sections database, ha_database,
connection_pools, session_management) into the unified layout and write it
to NEW. Every legacy key is carried over or named in the report with the
reason; ${VAR} placeholders are kept as they are.

OLD is never modified. An existing NEW is not overwritten without --force.
NEW is written to a temporary file in its directory, then renamed: it is
never left half written. An OLD already in the unified layout is reported
and nothing is written. --dry-run prints the result (password redacted) and
the report instead of writing.

Exit status: 0 written (or nothing to do), 1 failure (nothing written),
2 usage error.`

func runConfigMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := newFlagSet("config migrate", "OLD NEW", configMigrateDescription)
	force := fset.Bool("force", false, "overwrite NEW when it exists")
	dryRun := fset.Bool("dry-run", false, "print the result and the report; write nothing")
	pos, code, done := parseArgs(fset, args, stdout, stderr)
	if done {
		return code
	}
	if code, done := wantArgs(fset, stderr, pos, "OLD", "NEW"); done {
		return code
	}
	oldPath, newPath := pos[0], pos[1]
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "unifieddb config migrate: "+format+"\n", a...)
		return exitFail
	}

	old, err := readConfigFile(oldPath)
	if err != nil {
		return fail("reading %s: %v", oldPath, err)
	}
	// Whatever happens, nothing below prints a password of OLD.
	secrets := passwordsIn(old)
	stdout, stderr = redactingAll(stdout, secrets), redactingAll(stderr, secrets)

	if same, err := samePath(oldPath, newPath); err != nil {
		return fail("%v", err)
	} else if same {
		return fail("NEW is OLD (%s): OLD is never modified; choose another file", newPath)
	}
	type migrated struct {
		unified []byte
		report  datalayer.MigrationReport
		err     error
	}
	r, err := interruptible(ctx, func() migrated {
		u, rep, err := datalayer.MigrateLegacyConfig(old)
		return migrated{u, rep, err}
	})
	if err != nil {
		return fail("interrupted: %v", err)
	}
	unified, report, err := r.unified, r.report, r.err
	if err != nil {
		return fail("%s: %v", oldPath, err)
	}
	if report.AlreadyUnified {
		fmt.Fprintf(stdout, "%s is already in the unified layout: nothing to migrate, nothing written\n", oldPath)
		printReportWarnings(stdout, report)
		return exitOK
	}
	if *dryRun {
		stdout.Write(redactPasswordLine(unified))
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "# dry run: %s not written. Report:\n", newPath)
		for _, line := range strings.Split(strings.TrimRight(report.String(), "\n"), "\n") {
			fmt.Fprintf(stdout, "# %s\n", line)
		}
		return exitOK
	}
	if _, err := os.Lstat(newPath); err == nil && !*force {
		return fail("%s exists; use --force to overwrite it", newPath)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail("%v", unwrapPathError(err))
	}
	perm := fs.FileMode(0o600)
	if fi, err := os.Stat(oldPath); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := writeAtomic(newPath, unified, perm); err != nil {
		return fail("writing %s: %v", newPath, err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", newPath)
	fmt.Fprint(stdout, report.String())
	return exitOK
}

func printReportWarnings(w io.Writer, r datalayer.MigrationReport) {
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
}

// writeAtomic writes data to a temporary file in path's directory, syncs it
// and renames it over path: readers see the old file or the whole new one.
func writeAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return unwrapPathError(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return unwrapPathError(err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}

// samePath reports whether a and b name the same file (b need not exist).
func samePath(a, b string) (bool, error) {
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	if aerr == nil && berr == nil {
		return os.SameFile(ai, bi), nil
	}
	aa, err := filepath.Abs(a)
	if err != nil {
		return false, err
	}
	ba, err := filepath.Abs(b)
	if err != nil {
		return false, err
	}
	return aa == ba, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// passwordLine matches a password key and its value in YAML text.
var passwordLine = regexp.MustCompile(`(?m)^(\s*["']?password["']?\s*:[ \t]*)(.*?)[ \t]*$`)

// passwordsIn returns the literal password values of a YAML text (not
// ${VAR} placeholders), quoted and unquoted.
func passwordsIn(data []byte) []string {
	var out []string
	for _, m := range passwordLine.FindAllSubmatch(data, -1) {
		v := strings.TrimSpace(string(m[2]))
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		if v == "" || strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
			continue
		}
		out = append(out, v, strings.Trim(v, `"'`), strings.TrimSpace(strings.TrimPrefix(v, "!raw")))
	}
	return out
}

// redactPasswordLine replaces literal password values of a YAML text by
// "***"; ${VAR} placeholders are kept.
func redactPasswordLine(data []byte) []byte {
	return passwordLine.ReplaceAllFunc(data, func(line []byte) []byte {
		m := passwordLine.FindSubmatch(line)
		v := strings.Trim(strings.TrimSpace(string(m[2])), `"'`)
		if v == "" || strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") && strings.Count(v, "${") == 1 {
			return line
		}
		return append(bytes.Clone(m[1]), `"***" # redacted`...)
	})
}

// redactingAll stacks a redacting writer per secret.
func redactingAll(w io.Writer, secrets []string) io.Writer {
	for _, s := range secrets {
		w = redacting(w, s)
	}
	return w
}
