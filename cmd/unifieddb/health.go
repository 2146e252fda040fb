package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
)

const healthDescription = `
Open a Manager on the configuration, probe every node and print the health
report: the status (healthy, degraded or unhealthy) and why, the pools, and
one line per node (role, healthy, in rotation, probe latency, replication
lag, last error). --json prints the report as the readiness endpoint does.

It first waits up to --wait for a primary and, when none comes, prints each
node's last error (at once for a fault waiting cannot cure: a wrong
password, an unknown database, a TLS refusal, an unknown host). A missing
primary then shows as "no primary for 0s": degraded (reads only) when a
replica serves, unhealthy when no node does.

Exit status: 0 healthy or degraded, 1 unhealthy or no report, 2 usage error.`

func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("health", "", healthDescription)
	var lf liveFlags
	lf.register(fs, true, 30*time.Second)
	s, code := lf.start(ctx, fs, args, stdout, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	_ = s.waitReady("health", lf.wait) // the cause is printed; the report says the rest
	rep, err := s.m.HealthCheck(s.ctx, datalayer.Fresh())
	if err != nil {
		fmt.Fprintf(s.stderr, "unifieddb health: %v\n", err)
		return exitFail
	}
	if lf.json {
		printJSON(s.stdout, rep)
	} else {
		printHealth(s.stdout, rep)
	}
	if rep.Status == datalayer.StatusUnhealthy {
		return exitFail
	}
	return exitOK
}

func printHealth(w io.Writer, r datalayer.HealthReport) {
	printHealthSection(w, r)
	if len(r.RegistryConflicts) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "registry conflicts:")
		for _, c := range r.RegistryConflicts {
			fmt.Fprintf(w, "  table %s: kept %s, rejected %s\n", c.Table, c.Kept, c.Rejected)
		}
	}
	for _, name := range sortedKeys(r.Clusters) {
		fmt.Fprintf(w, "\ncluster %s\n", name)
		printHealthSection(w, r.Clusters[name])
	}
}

// sortedKeys are m's keys in order: the named clusters' sections.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printHealthSection prints one cluster's part of the report.
func printHealthSection(w io.Writer, r datalayer.HealthReport) {
	fmt.Fprintf(w, "status: %s\n", r.Status)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	primary := r.Primary
	if primary == "" {
		primary = "(none)"
	}
	fmt.Fprintf(w, "primary: %s   split brain: %s   checked at: %s\n", primary, yesNo(r.SplitBrain), r.CheckedAt.Format(time.RFC3339))
	p := r.ConnectionPool
	fmt.Fprintf(w, "connections: %d in use, %d idle, %d open, %d max open; %d waits (%s)\n",
		p.InUse, p.Idle, p.Open, p.MaxOpen, p.WaitCount, msText(p.WaitDurationMs))
	b := r.ConnectionBudget
	fmt.Fprintf(w, "connection budget: up to %d per node for this instance (write %d, read %d, batch %d, transactional %d, probe %d); doctor --instances N checks max_connections\n",
		b.PerNode, b.Write, b.Read, b.Batch, b.Transactional, b.Probe)
	fmt.Fprintf(w, "nodes from: %s\n", oneLine(discoveryText(r.Discovery, len(r.Nodes))))
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tHEALTHY\tIN ROTATION\tLATENCY\tLAG\tLAG BYTES\tSOURCE VIEW\tERROR")
	for _, n := range r.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, yesNo(n.Healthy), yesNo(n.InRotation),
			msText(n.LatencyMs), msText(n.ReplicationLagMs), strconv.FormatInt(n.ReplicationLagBytes, 10), sourceView(n), oneLine(n.Error))
	}
	tw.Flush()
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
