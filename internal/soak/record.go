// Package soak is the fleet test of issue 20 (`make soak`): N Manager
// instances, each in its own process (cmd/soakworker), under a light load
// against one Patroni cluster (internal/patronitest), with a fault every
// SOAK_FAULT_EVERY, for SOAK_DURATION. The orchestrator (soak_test.go,
// run only with UNIFIEDDB_SOAK=1) checks the whole run's history
// (internal/history), samples the servers (connections, new connections
// per second, probe queries per second) and reads each instance's own
// samples (goroutines, fds, heap, pool sizes); the table goes to .tmp/soak/.
//
// This file is what a worker writes and the orchestrator reads: one JSON
// object per line.
package soak

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/history"
)

// WorkerConfig is a worker's whole configuration, in a file (0600: it
// holds the password) named by its only argument.
type WorkerConfig struct {
	Instance  int
	Host      string
	Port      int
	Replicas  []string
	Database  string
	User      string
	Password  string
	Out       string        // directory for the worker's records
	Writers   int           // concurrent writers, each with its own read-your-writes context
	WriteEach time.Duration // one write+read per writer per WriteEach
	ReadEach  time.Duration // one plain (Auto) read per ReadEach
	Items     int           // soak_items rows 1..Items exist
	Health    time.Duration // health_check_interval
}

// Files a worker writes in Out.
const (
	WritesFile  = "writes.jsonl"  // every write of the load, at the end
	ReadsFile   = "reads.jsonl"   // every read-your-writes read and plain read, at the end
	InsertsFile = "inserts.jsonl" // every acknowledged INSERT attempt: node, start
	SamplesFile = "samples.jsonl" // resources, every SampleEach, as the run goes
)

// WorkersPerInstance spaces the instances' worker numbers in soak_writes:
// writer w of instance i is worker i*WorkersPerInstance + w.
const WorkersPerInstance = 100

// SampleEach is how often a worker samples its resources.
const SampleEach = 5 * time.Second

// Outcomes of a write, as the history check classes them.
const (
	OK      = "ok"
	Unknown = "unknown"
	NotSent = "not_sent"
	Other   = "other"
)

// Outcome classes err for the record.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, datalayer.ErrOutcomeUnknown):
		return Unknown
	case history.NotSent(err):
		return NotSent
	default:
		return Other
	}
}

// ErrOf is an error the history check classes as outcome was: the
// record's error text wrapped around the sentinel of its class.
func ErrOf(outcome, text string) error {
	switch outcome {
	case OK:
		return nil
	case Unknown:
		return fmt.Errorf("%s: %w", text, datalayer.ErrOutcomeUnknown)
	case NotSent:
		return fmt.Errorf("%s: %w", text, datalayer.ErrNoPrimary)
	default:
		return errors.New(text)
	}
}

// Op is one write or read of the load.
type Op struct {
	Worker  int       `json:"w"`
	Seq     int       `json:"s"`
	Start   time.Time `json:"st"`
	End     time.Time `json:"en"`
	Outcome string    `json:"o"`
	Err     string    `json:"e,omitempty"`
	// Read-your-writes reads: the last acknowledged write of the worker
	// before the read, and the highest the read saw (-1: none).
	Want  int  `json:"want,omitempty"`
	Saw   int  `json:"saw,omitempty"`
	Port  int  `json:"port,omitempty"`
	Plain bool `json:"plain,omitempty"` // a plain read, nothing to check but its error
}

// Insert is an acknowledged INSERT attempt.
type Insert struct {
	Node  string    `json:"n"`
	Start time.Time `json:"st"`
}

// Sample is one sample of a worker's resources.
type Sample struct {
	At         time.Time `json:"at"`
	Goroutines int       `json:"g"`
	FDs        int       `json:"fd"`
	HeapBytes  uint64    `json:"heap"`
	PoolOpen   int       `json:"open"`
	PoolIdle   int       `json:"idle"`
	Closed     bool      `json:"closed,omitempty"` // taken after Manager.Close
}

// WriteLines writes vs to path, one JSON object per line.
func WriteLines[T any](path string, vs []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadLines reads what WriteLines (or an appending writer) wrote; a
// missing file is empty, a torn last line (a killed worker) is skipped.
func ReadLines[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			continue
		}
		out = append(out, v)
	}
	return out, sc.Err()
}
