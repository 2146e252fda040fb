package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A test package whose second test panics and whose fourth hangs: the runner
// must record both and still run every other test.
const crashingTests = `package p

import (
	"testing"
	"time"
)

func TestA(t *testing.T) {}
func TestB(t *testing.T) { var m map[string]int; m["x"] = 1 }
func TestC(t *testing.T) { t.Error("c fails") }
func TestD(t *testing.T) { time.Sleep(time.Hour) }
func TestE(t *testing.T) {}
`

func TestRunRestartsAfterPanicAndHang(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a test binary")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":    "module example.com/p\n\ngo 1.22\n",
		"p_test.go": crashingTests,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "p.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}

	out := filepath.Join(dir, "events.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := runCmd(ctx, []string{"-bin", bin, "-dir", dir, "-out", out, "-test-timeout", "3s"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := readEvents(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"TestA": outcomePass, "TestB": outcomeCrash, "TestC": outcomeFail, "TestD": outcomeCrash, "TestE": outcomePass}
	for name, outcome := range want {
		r := rr.Tests[name]
		if r == nil {
			t.Errorf("%s: never ran", name)
			continue
		}
		if r.Outcome != outcome {
			t.Errorf("%s: outcome %q, want %q", name, r.Outcome, outcome)
		}
	}
	if rr.Segments != 3 {
		t.Errorf("%d runs of the binary, want 3 (after the panic and after the hang)", rr.Segments)
	}
	if rr.Tests["TestB"] != nil && panicLine(rr.Tests["TestB"].Output) == "" {
		t.Errorf("TestB: the panic is not in its output")
	}
	if rr.Tests["TestD"] != nil && panicLine(rr.Tests["TestD"].Output) != "SIGQUIT: quit" {
		t.Errorf("TestD: no SIGQUIT stack dump in its output")
	}
}
