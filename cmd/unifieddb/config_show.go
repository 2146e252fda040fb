package main

import (
	"context"
	"fmt"
	"io"
)

const configShowDescription = `
Print the effective configuration of FILE: every key, with the defaults
filled in and ${VAR} placeholders expanded from the environment, as YAML
that "unifieddb config validate" accepts, each named cluster (clusters:)
with every key it takes. Every password is shown as "***".
Warnings go to stderr.

Exit status: 0 shown, 1 invalid or unreadable, 2 usage error.`

func runConfigShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config show", "FILE", configShowDescription)
	pos, code, done := parseArgs(fs, args, stdout, stderr)
	if done {
		return code
	}
	if code, done := wantArgs(fs, stderr, pos, "FILE"); done {
		return code
	}
	cfg, err := loadConfig(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "unifieddb config show: %v\n", err)
		return exitFail
	}
	stdout, stderr = redactingAll(stdout, cfg.Passwords()), redactingAll(stderr, cfg.Passwords())
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	out, err := cfg.Redacted().MarshalYAML()
	if err != nil {
		fmt.Fprintf(stderr, "unifieddb config show: %v\n", err)
		return exitFail
	}
	stdout.Write(out)
	return exitOK
}
