package datalayer

import (
	"fmt"
	"strings"
)

// KeyMove is a legacy key carried to a unified key.
type KeyMove struct {
	From string // legacy key, "section.key", e.g. "connection_pools.mcp_pool_size"
	To   string // unified key, e.g. "pool_size"
}

// KeyNote is a legacy key that was not carried, and why.
type KeyNote struct {
	Key    string // legacy key, "section.key", or a top-level key
	Reason string
}

// MigrationReport says what MigrateLegacyConfig did with every legacy key.
// It never contains the password.
type MigrationReport struct {
	// AlreadyUnified is true when the input was already in the unified
	// layout; it is then returned unchanged.
	AlreadyUnified bool
	// Carried lists the keys carried over, in the order of the file.
	Carried []KeyMove
	// Dropped lists every other key, with the reason, in the order of the
	// file, then the top-level keys that are not sections.
	Dropped []KeyNote
	// Warnings are things to check by hand, e.g. a primary_host that
	// disagrees with database.host.
	Warnings []string
}

// String is the report for people, one item per line.
func (r MigrationReport) String() string {
	var b strings.Builder
	if r.AlreadyUnified {
		b.WriteString("already in the unified layout: nothing to migrate\n")
	} else {
		fmt.Fprintf(&b, "carried (%d):\n", len(r.Carried))
		for _, m := range r.Carried {
			fmt.Fprintf(&b, "  %s -> %s\n", m.From, m.To)
		}
		fmt.Fprintf(&b, "dropped (%d):\n", len(r.Dropped))
		for _, n := range r.Dropped {
			fmt.Fprintf(&b, "  %s: %s\n", n.Key, n.Reason)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "warnings (%d):\n", len(r.Warnings))
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	return b.String()
}
