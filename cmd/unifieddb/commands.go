package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses of every command.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one subcommand. Adding one is a file with its run function and
// an entry in commands.
type command struct {
	name    string
	summary string // one line, for the command list
	// run receives the arguments after the command name. It parses them with
	// newFlagSet and returns an exit status.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the command list, in the order `unifieddb help` shows it.
var commands = []command{
	{"config", "migrate a legacy configuration, validate or show one", runConfig},
	{"health", "probe every node and print the health report", runHealth},
	{"info", "print pool and statement figures", runInfo},
	{"doctor", "check a live configuration: nodes, roles, lag, capacity, schema", runDoctor},
	{"migrate", "apply, list or roll back schema migrations (up|status|down)", runMigrate},
	{"demo", "start a local primary + 2 replicas and show routing by mode", runDemo},
	{"dev", "run a local primary + replicas for development (up|status|down)", runDev},
	{"version", "print the version", runVersion},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run is the whole program: main only adds signals and os.Exit, so tests
// call run in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if name == "help" && len(rest) > 0 {
			// `unifieddb help demo` is `unifieddb demo --help`.
			if c, ok := lookup(rest[0]); ok {
				return c.run(ctx, []string{"--help"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "unifieddb: unknown command %q\n", rest[0])
			return exitUsage
		}
		usage(stdout)
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, rest, stdout, stderr)
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "unifieddb: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, rest, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: unifieddb <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags:")
	fmt.Fprintln(w, "  -h, -help, --help     show this help")
	fmt.Fprintln(w, "  -version, --version   print the version")
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "unifieddb <command> --help" for the flags of a command.`)
}

// newFlagSet returns the FlagSet of one command. Its usage message goes to
// stdout for --help and to stderr for a usage error (see parseFlags).
// argsUsage names the positional arguments, "" when there are none.
func newFlagSet(name, argsUsage, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("unifieddb "+name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		line := "Usage: unifieddb " + name + " [flags]"
		if argsUsage != "" {
			line += " " + argsUsage
		}
		fmt.Fprintln(w, line)
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "Flags:")
			fs.PrintDefaults()
		}
		fmt.Fprintln(w, "  -h, -help, --help")
		fmt.Fprintln(w, "    \tshow this help")
	}
	return fs
}

// parseFlags parses args. done reports that the command must return code
// right away: 0 after --help (printed to stdout), 2 after a usage error
// (printed to stderr).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK, true
	default:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fs.SetOutput(stderr)
		fs.Usage()
		return exitUsage, true
	}
}

// noArgs is for commands without positional arguments: anything left after
// the flags is a usage error.
func noArgs(fs *flag.FlagSet, stderr io.Writer) (code int, done bool) {
	if fs.NArg() == 0 {
		return exitOK, false
	}
	fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
	fs.SetOutput(stderr)
	fs.Usage()
	return exitUsage, true
}
