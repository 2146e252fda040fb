package failbench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/prompt-improver/unifieddb/internal/loadgen"
)

// TestRun runs the whole comparison only when asked (it takes about two
// minutes): UNIFIEDDB_FAILBENCH=1 go test -run TestRun -v ./internal/failbench/
func TestRun(t *testing.T) {
	if os.Getenv("UNIFIEDDB_FAILBENCH") == "" {
		t.Skip("set UNIFIEDDB_FAILBENCH=1 to run the failover comparison")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Run(ctx, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Now()
	ok := loadgen.Result{Start: t0, End: t0.Add(time.Millisecond)}
	bad := loadgen.Result{Start: t0.Add(time.Second), End: t0.Add(2 * time.Second), Err: context.DeadlineExceeded}
	o := summarize([]loadgen.Result{ok, bad, ok}, t0, t0.Add(10*time.Second))
	if o.requests != 3 || o.failed != 1 || o.recovery != 2*time.Second || o.slowest != time.Second {
		t.Fatalf("summarize: %+v", o)
	}
	o = summarize([]loadgen.Result{ok, bad}, t0, t0.Add(2*time.Second))
	if o.recovery >= 0 {
		t.Fatalf("failures until the end must read as not recovered: %+v", o)
	}
}
