// Command unifieddb is the command-line tool of the unifieddb data layer.
//
//	unifieddb <command> [flags]
//
// Run `unifieddb help` for the list of commands and `unifieddb <command>
// --help` for the flags of one. Exit status: 0 success, 1 failure, 2 usage
// error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C and SIGTERM cancel ctx; commands clean up (the demo stops its
	// cluster) and return.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, the default handling is back: a second Ctrl-C
	// or SIGTERM ends the process even if a command is slow to return.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
