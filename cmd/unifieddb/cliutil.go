package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// parseArgs parses flags placed before, between or after the positional
// arguments (`config migrate OLD NEW --force`) and returns the positional
// ones. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (pos []string, code int, done bool) {
	for {
		if code, done := parseFlags(fs, args, stdout, stderr); done {
			return nil, code, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, exitOK, false
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			return append(pos, rest...), exitOK, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints a problem with the command line and the command's usage
// to stderr, and returns exitUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.SetOutput(stderr)
	fs.Usage()
	return exitUsage
}

// wantArgs checks the number of positional arguments.
func wantArgs(fs *flag.FlagSet, stderr io.Writer, pos []string, names ...string) (code int, done bool) {
	switch {
	case len(pos) < len(names):
		return usageError(fs, stderr, "missing %s", strings.Join(names[len(pos):], " and ")), true
	case len(pos) > len(names):
		return usageError(fs, stderr, "unexpected argument %q", pos[len(names)]), true
	}
	return exitOK, false
}

// liveFlags are the flags of the commands that connect to the cluster.
type liveFlags struct {
	config  string
	timeout time.Duration
	wait    time.Duration
	json    bool
}

// defaultWait is how long a live command waits for a primary by default.
const defaultWait = 10 * time.Second

func (l *liveFlags) register(fs *flag.FlagSet, jsonFlag bool, timeout time.Duration) {
	fs.StringVar(&l.config, "config", "", "configuration `FILE` (YAML with a top-level database key); required")
	fs.DurationVar(&l.timeout, "timeout", timeout, "give up after this `duration` (0: no limit)")
	fs.DurationVar(&l.wait, "wait", defaultWait, "wait up to this `duration` for a primary, then say why there is none; "+
		"a fault waiting cannot cure (wrong password, unknown database) is said at once (0: do not wait)")
	if jsonFlag {
		fs.BoolVar(&l.json, "json", false, "print the report as JSON")
	}
}

// check reports a missing --config as a usage error.
func (l *liveFlags) check(fs *flag.FlagSet, stderr io.Writer) (code int, done bool) {
	if l.config == "" {
		return usageError(fs, stderr, "--config FILE is required"), true
	}
	return exitOK, false
}

// session is an open Manager with the writers of a command, which never
// let the password through.
type session struct {
	m      *datalayer.Manager
	cfg    datalayer.Config
	stdout io.Writer
	stderr io.Writer
	ctx    context.Context
	cancel context.CancelFunc
}

// start parses the flags of a live command (no positional arguments), then
// opens its session. A nil session means stop now with the returned code
// (after --help, a usage error or a failure to open).
func (l *liveFlags) start(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (*session, int) {
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return nil, code
	}
	if code, done := noArgs(fs, stderr); done {
		return nil, code
	}
	if code, done := l.check(fs, stderr); done {
		return nil, code
	}
	return l.open(ctx, strings.TrimPrefix(fs.Name(), "unifieddb "), stdout, stderr)
}

// open loads the configuration and opens a Manager. Its log goes to stderr,
// errors only (node-down warnings would drown the report), redacted.
// On failure it prints why and returns exitFail.
func (l *liveFlags) open(ctx context.Context, name string, stdout, stderr io.Writer) (*session, int) {
	cfg, err := loadConfig(ctx, l.config)
	if err != nil {
		fmt.Fprintf(stderr, "unifieddb %s: %v\n", name, err)
		return nil, exitFail
	}
	s := &session{cfg: cfg, stdout: redactingAll(stdout, cfg.Passwords()), stderr: redactingAll(stderr, cfg.Passwords())}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(s.stderr, "unifieddb %s: warning: %s\n", name, w)
	}
	s.ctx, s.cancel = ctx, func() {}
	if l.timeout > 0 {
		s.ctx, s.cancel = context.WithTimeout(ctx, l.timeout)
	}
	log := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s.m, err = datalayer.New(s.ctx, cfg, datalayer.WithLogger(log))
	if err != nil {
		s.cancel()
		fmt.Fprintf(s.stderr, "unifieddb %s: %v\n", name, err)
		return nil, exitFail
	}
	return s, exitOK
}

// waitReady waits up to wait (bounded by the command's --timeout) for a
// primary (Manager.WaitReady). On failure it prints the cause, each node's
// last error, and returns it; a fault waiting cannot cure returns at once.
func (s *session) waitReady(name string, wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, wait)
	defer cancel()
	err := readyWithin(ctx, s.ctx, s.m, wait)
	if err != nil {
		fmt.Fprintf(s.stderr, "unifieddb %s: %v\n", name, err)
	}
	return err
}

// readyWithin is m.WaitReady(ctx) where ctx is parent bounded by wait:
// when wait ran out (not parent), the error is the *UnavailableError that
// says "no writable primary within <wait>" and each node's last error.
func readyWithin(ctx, parent context.Context, m *datalayer.Manager, wait time.Duration) error {
	err := m.WaitReady(ctx)
	var u *datalayer.UnavailableError
	if err != nil && parent.Err() == nil && errors.As(err, &u) && !u.Permanent {
		u.Within = wait
		return u
	}
	return err
}

func (s *session) close() {
	s.m.Close()
	s.cancel()
}

// interruptible runs fn, work that takes no context such as reading and
// parsing a file, and returns its result; it stops waiting as soon as ctx
// ends, so Ctrl-C and SIGTERM stop the command whatever it is doing.
func interruptible[T any](ctx context.Context, fn func() T) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	done := make(chan T, 1)
	go func() { done <- fn() }()
	select {
	case v := <-done:
		return v, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// readConfigFile reads a configuration file, never more than one byte past
// datalayer.MaxConfigSize: a larger one is refused by the parser without
// being read whole.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withoutPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, datalayer.MaxConfigSize+1))
	return data, withoutPath(err)
}

// withoutPath is err without the file name an *fs.PathError adds, for
// messages that name the file already: "FILE: no such file or directory",
// not "FILE: open FILE: no such file or directory".
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loaded is a configuration and the error of loading it.
type loaded struct {
	cfg datalayer.Config
	err error
}

// loadConfig is datalayer.LoadConfig, stopped by ctx.
func loadConfig(ctx context.Context, path string) (datalayer.Config, error) {
	r, err := interruptible(ctx, func() loaded {
		cfg, err := datalayer.LoadConfig(path)
		return loaded{cfg, err}
	})
	if err != nil {
		return datalayer.Config{}, fmt.Errorf("interrupted: %w", err)
	}
	return r.cfg, r.err
}

// redactWriter replaces a secret in everything written through it: the
// last guard, behind the redaction of every error and report.
type redactWriter struct {
	mu     sync.Mutex
	w      io.Writer
	secret []byte
}

func redacting(w io.Writer, secret string) io.Writer {
	if len(secret) < 3 {
		return w
	}
	return &redactWriter{w: w, secret: []byte(secret)}
}

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.w.Write(bytes.ReplaceAll(p, r.secret, []byte("***"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// msText formats milliseconds for tables.
func msText(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// runSubcommand runs the subcommand of cmds that args name (config, dev),
// or answers --help and usage errors with fs.
func runSubcommand(ctx context.Context, fs *flag.FlagSet, cmds []command, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range cmds {
			if c.name == args[0] {
				return c.run(ctx, args[1:], stdout, stderr)
			}
		}
	}
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(fs, stderr, "missing subcommand")
	}
	return usageError(fs, stderr, "unknown subcommand %q", fs.Arg(0))
}
