package main

import (
	"context"
	"io"
)

const configDescription = `
Work with configuration files. Subcommands:

  migrate OLD NEW   turn a legacy configuration into the unified layout
  validate FILE     check a configuration and name every bad field
  show FILE         print the effective configuration (password redacted)

Run "unifieddb config <subcommand> --help" for the flags of one.`

// configCommands are the subcommands of `unifieddb config`.
var configCommands = []command{
	{"migrate", "turn a legacy configuration into the unified layout", runConfigMigrate},
	{"validate", "check a configuration and name every bad field", runConfigValidate},
	{"show", "print the effective configuration, password redacted", runConfigShow},
}

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config", "<migrate|validate|show> ...", configDescription)
	return runSubcommand(ctx, fs, configCommands, args, stdout, stderr)
}
