package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prompt-improver/unifieddb/datalayer"
)

const configValidateDescription = `
Read FILE as the unifieddb configuration (top-level key database, ${VAR}
expanded from the environment) and check every field. Every problem is
named with its key, one per line; a named cluster's keys with their path
(clusters.events.pool_size). An unknown key (a typo such as
replica_host for replica_hosts) is a problem; with unknown_keys: warn in
the file it is a warning, and the file still fails validation: LoadConfig
would accept it, but the key does nothing. Nothing connects to a database.

Exit status: 0 valid, 1 invalid, unreadable or with warnings, 2 usage error.`

// validation is the --json output of config validate.
type validation struct {
	File     string         `json:"file"`
	Valid    bool           `json:"valid"`
	Problems []fieldProblem `json:"problems,omitempty"`
	Error    string         `json:"error,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

type fieldProblem struct {
	Field   string `json:"field"` // "" for a problem of the whole file
	Problem string `json:"problem"`
}

func runConfigValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config validate", "FILE", configValidateDescription)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, code, done := parseArgs(fs, args, stdout, stderr)
	if done {
		return code
	}
	if code, done := wantArgs(fs, stderr, pos, "FILE"); done {
		return code
	}
	path := pos[0]
	v := validation{File: path}
	type parsed struct {
		data []byte
		loaded
	}
	r, err := interruptible(ctx, func() parsed {
		data, err := readConfigFile(path)
		if err != nil {
			return parsed{loaded: loaded{err: err}}
		}
		cfg, err := datalayer.ParseConfig(data)
		return parsed{data, loaded{cfg, err}}
	})
	if err != nil {
		fmt.Fprintf(stderr, "unifieddb config validate: interrupted: %v\n", err)
		return exitFail
	}
	cfg, err := r.cfg, r.err
	stdout, stderr = redactingAll(stdout, passwordsIn(r.data)), redactingAll(stderr, passwordsIn(r.data))
	stdout, stderr = redactingAll(stdout, cfg.Passwords()), redactingAll(stderr, cfg.Passwords())
	var ce *datalayer.ConfigError
	switch {
	case err == nil:
		v.Valid, v.Warnings = true, cfg.Warnings
	case errors.As(err, &ce):
		for _, f := range ce.Fields {
			v.Problems = append(v.Problems, fieldProblem{f.Field, f.Problem})
		}
	default:
		v.Error = err.Error()
	}

	if *asJSON {
		printJSON(stdout, v)
	} else {
		switch {
		case v.Valid && len(v.Warnings) > 0:
			fmt.Fprintf(stdout, "%s: loads, but with %d warning(s):\n", path, len(v.Warnings))
		case v.Valid:
			fmt.Fprintf(stdout, "%s: valid\n", path)
		case v.Error != "":
			fmt.Fprintf(stderr, "%s: %s\n", path, v.Error)
		default:
			fmt.Fprintf(stdout, "%s: invalid, %d problem(s):\n", path, len(v.Problems))
			for _, f := range v.Problems {
				if f.Field == "" {
					fmt.Fprintf(stdout, "  %s\n", f.Problem)
				} else {
					fmt.Fprintf(stdout, "  %s: %s\n", f.Field, f.Problem)
				}
			}
		}
		for _, w := range v.Warnings {
			fmt.Fprintf(stdout, "  warning: %s\n", w)
		}
	}
	if !v.Valid || len(v.Warnings) > 0 {
		return exitFail // a key that does nothing is almost always a typo
	}
	return exitOK
}
