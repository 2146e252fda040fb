package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// health and info print each named cluster's section after the default
// cluster's, which stays as it was.
func TestHealthAndInfoPrintEachCluster(t *testing.T) {
	one := datalayer.HealthReport{Status: datalayer.StatusHealthy, Primary: "127.0.0.1:1",
		Nodes: []datalayer.NodeHealth{{Name: "127.0.0.1:1", Role: "primary", Healthy: true, InRotation: true}}}
	var plain bytes.Buffer
	printHealth(&plain, one)
	assert.NotContains(t, plain.String(), "cluster ")

	two := one
	two.Status = datalayer.StatusDegraded
	two.Problems = []string{"cluster events: node 127.0.0.1:3 is down"}
	two.Clusters = map[string]datalayer.HealthReport{"events": {Status: datalayer.StatusDegraded, Primary: "127.0.0.1:2",
		Problems: []string{"node 127.0.0.1:3 is down"},
		Nodes: []datalayer.NodeHealth{{Name: "127.0.0.1:2", Role: "primary", Healthy: true, InRotation: true},
			{Name: "127.0.0.1:3", Role: "replica"}}}}
	var out bytes.Buffer
	printHealth(&out, two)
	head, tail, ok := strings.Cut(out.String(), "\ncluster events\n")
	assert.True(t, ok, out.String())
	assert.Contains(t, head, "127.0.0.1:1")
	assert.NotContains(t, head, "127.0.0.1:2")
	assert.Contains(t, tail, "primary: 127.0.0.1:2")
	assert.Contains(t, tail, "127.0.0.1:3")

	ci := datalayer.ConnectionInfo{Nodes: []datalayer.NodeInfo{{Name: "127.0.0.1:1", Role: "primary"}},
		Clusters: map[string]datalayer.ConnectionInfo{"events": {Nodes: []datalayer.NodeInfo{{Name: "127.0.0.1:2", Role: "primary",
			Pools: map[string]datalayer.PoolInfo{"write": {Open: 1, MaxOpen: 5}}}}}}}
	out.Reset()
	printInfo(&out, ci)
	head, tail, ok = strings.Cut(out.String(), "\ncluster events\n")
	assert.True(t, ok, out.String())
	assert.NotContains(t, head, "127.0.0.1:2")
	assert.Contains(t, tail, "127.0.0.1:2  write")
}
