package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
)

const infoDescription = `
Open a Manager on the configuration and print its connection figures: the
pools of every node (in use, idle, open, max open, waits) and the statement
figures (queries, errors, retries, latency avg/p50/p95/p99) by node and by
mode. The statement figures are those of this process: a Manager counts the
statements it sends, so in the tool they show what it sent to check the
nodes (one SELECT 1 per mode, stopping at the first failure; none
with --no-check, nor when no primary comes within --wait: then the cause
is printed and the exit status is 1). In a service, serve
m.ConnectionInfo or the Prometheus collector instead.

Exit status: 0 shown, 1 failure, 2 usage error.`

// infoModes are the modes the check statement runs in, in table order.
var infoModes = []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional}

func runInfo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("info", "", infoDescription)
	var lf liveFlags
	lf.register(fs, true, 30*time.Second)
	noCheck := fs.Bool("no-check", false, "send no statement: pool figures only")
	s, code := lf.start(ctx, fs, args, stdout, stderr)
	if s == nil {
		return code
	}
	defer s.close()
	code = exitOK
	if !*noCheck && s.waitReady("info", lf.wait) != nil {
		// Each check statement would wait failover_timeout for the same cause.
		code, *noCheck = exitFail, true
	}
	if !*noCheck {
		for _, mode := range infoModes {
			var one int
			if err := s.m.Conn(s.ctx, mode).Raw("SELECT 1").Scan(&one).Error; err != nil {
				fmt.Fprintf(s.stderr, "unifieddb info: the check statement in %s mode failed (the other modes are not checked): %v\n", mode, err)
				code = exitFail
				break
			}
		}
	}
	ci, err := s.m.ConnectionInfo(s.ctx)
	if err != nil {
		fmt.Fprintf(s.stderr, "unifieddb info: %v\n", err)
		return exitFail
	}
	if lf.json {
		printJSON(s.stdout, ci)
	} else {
		printInfo(s.stdout, ci)
	}
	return code
}

func printInfo(w io.Writer, ci datalayer.ConnectionInfo) {
	fmt.Fprintf(w, "connections: %d active, %d idle, pool utilization %.1f%%\n", ci.ActiveConnections, ci.IdleConnections, ci.PoolUtilization)
	metrics := "on"
	if !ci.MetricsEnabled {
		metrics = "off (enable_metrics: false): statement figures are 0"
	}
	fmt.Fprintf(w, "statements: %d queries, %d errors, %d retries, avg %s; %d failovers; metrics %s\n",
		ci.QueriesTotal, ci.ErrorsTotal, ci.RetriesTotal, msText(ci.AvgResponseTime), ci.FailoversTotal, metrics)

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tQUERIES\tERRORS\tRETRIES\tAVG\tP50\tP95\tP99")
	for _, n := range ci.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Name, n.Role, figuresRow(n.QueryFigures))
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tQUERIES\tERRORS\tRETRIES\tAVG\tP50\tP95\tP99")
	for _, mode := range infoModes {
		fmt.Fprintf(tw, "%s\t%s\n", mode, figuresRow(ci.Modes[mode.String()]))
	}
	tw.Flush()

	printPools(w, ci)
	for _, name := range sortedKeys(ci.Clusters) {
		c := ci.Clusters[name]
		fmt.Fprintf(w, "\ncluster %s\n", name)
		fmt.Fprintf(w, "connections: %d active, %d idle, pool utilization %.1f%%\n", c.ActiveConnections, c.IdleConnections, c.PoolUtilization)
		fmt.Fprintf(w, "statements: %d queries, %d errors, %d retries; %d failovers\n", c.QueriesTotal, c.ErrorsTotal, c.RetriesTotal, c.FailoversTotal)
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tROLE\tQUERIES\tERRORS\tRETRIES\tAVG\tP50\tP95\tP99")
		for _, n := range c.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Name, n.Role, figuresRow(n.QueryFigures))
		}
		tw.Flush()
		printPools(w, c)
	}
}

// printPools prints the pool table of one cluster's figures.
func printPools(w io.Writer, ci datalayer.ConnectionInfo) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPOOL\tIN USE\tIDLE\tOPEN\tMAX OPEN\tWAITS\tWAITED")
	for _, n := range ci.Nodes {
		kinds := make([]string, 0, len(n.Pools))
		for k := range n.Pools {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			p := n.Pools[k]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", n.Name, k, p.InUse, p.Idle, p.Open, p.MaxOpen, p.WaitCount, msText(p.WaitMs))
		}
	}
	tw.Flush()
}

func figuresRow(f datalayer.QueryFigures) string {
	p50, p95, p99 := msText(f.P50Ms), msText(f.P95Ms), msText(f.P99Ms)
	if f.Samples == 1 {
		// Percentiles of one sample are that sample, already under AVG.
		p50, p95, p99 = "1 sample", "1 sample", "1 sample"
	}
	return fmt.Sprintf("%d\t%d\t%d\t%s\t%s\t%s\t%s", f.Queries, f.Errors, f.Retries, msText(f.AvgMs), p50, p95, p99)
}
