package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prompt-improver/unifieddb/datalayer"
)

func TestInfoShowsOneSampleAsSuch(t *testing.T) {
	var b strings.Builder
	printInfo(&b, datalayer.ConnectionInfo{
		Nodes: []datalayer.NodeInfo{
			{Name: "a:1", Role: "primary", QueryFigures: datalayer.QueryFigures{Queries: 1, Samples: 1, AvgMs: 0.7, P50Ms: 0.7, P95Ms: 0.7, P99Ms: 0.7}},
			{Name: "b:1", Role: "replica", QueryFigures: datalayer.QueryFigures{Queries: 9, Samples: 9, AvgMs: 0.7, P50Ms: 0.6, P95Ms: 0.9, P99Ms: 1.2}},
		},
	})
	out := b.String()
	assert.Regexp(t, `(?m)^a:1 +primary +1 +0 +0 +0\.70 ms +1 sample +1 sample +1 sample\s*$`, out)
	assert.Regexp(t, `(?m)^b:1 +replica +9 +0 +0 +0\.70 ms +0\.60 ms +0\.90 ms +1\.20 ms\s*$`, out)
}
