//go:build linux

package patronitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// ErrNoLeader is returned when no reachable Patroni reports a leader.
var ErrNoLeader = errors.New("patronitest: no leader")

// Member is one entry of Patroni's GET /cluster.
type Member struct {
	Name     string          `json:"name"`
	Role     string          `json:"role"`  // leader, replica, sync_standby
	State    string          `json:"state"` // running, streaming, stopped, starting...
	Host     string          `json:"host"`
	Port     int             `json:"port"`
	Timeline int             `json:"timeline"`
	Lag      json.RawMessage `json:"lag"` // bytes, or "unknown"
}

// Status is Patroni's GET /cluster.
type Status struct {
	Members []Member `json:"members"`
	Pause   bool     `json:"pause"`
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call sends one request to n's REST API and decodes a JSON answer into out
// (when not nil); a status other than 2xx is an error with Patroni's text.
func call(ctx context.Context, n *Node, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	url := "http://" + addr(n.RESTPort) + path
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("patronitest: %s %s on %s: %w", method, path, n.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("patronitest: %s %s on %s: %w", method, path, n.Name, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("patronitest: %s %s on %s: %s: %s", method, path, n.Name, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("patronitest: %s %s on %s: %w", method, path, n.Name, err)
		}
	}
	return nil
}

// Status asks the nodes' REST APIs in turn for GET /cluster and returns the
// first answer.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	if c.isClosed() {
		return Status{}, ErrClosed
	}
	var errs []error
	for _, n := range c.nodes {
		var st Status
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := call(qctx, n, http.MethodGet, "/cluster", nil, &st)
		cancel()
		if err == nil {
			return st, nil
		}
		errs = append(errs, err)
	}
	return Status{}, errors.Join(errs...)
}

// Leader returns the node Patroni reports as leader.
func (c *Cluster) Leader(ctx context.Context) (*Node, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range st.Members {
		if m.Role == "leader" {
			if n := c.Node(m.Name); n != nil {
				return n, nil
			}
		}
	}
	return nil, ErrNoLeader
}

// WaitHealthy waits until Patroni reports a running leader and two running
// replicas, the leader's pg_stat_replication shows both streaming and, in
// synchronous mode, one of them sync. It returns the leader.
func (c *Cluster) WaitHealthy(ctx context.Context) (*Node, error) {
	var last error
	for {
		leader, err := c.healthy(ctx)
		if err == nil {
			return leader, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, c.redact(fmt.Errorf("patronitest: cluster not healthy: %w (last: %v)", ctx.Err(), last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context) (*Node, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	var leader *Node
	replicas, sync := 0, 0
	for _, m := range st.Members {
		switch {
		case m.Role == "leader" && m.State == "running":
			leader = c.Node(m.Name)
		case (m.Role == "replica" || m.Role == "sync_standby") && (m.State == "running" || m.State == "streaming"):
			replicas++
			if m.Role == "sync_standby" {
				sync++
			}
		}
	}
	if leader == nil || replicas != nodeCount-1 || (c.opts.SynchronousMode && sync != 1) {
		return nil, fmt.Errorf("patronitest: members %+v", st.Members)
	}
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	q := "SELECT count(*) FILTER (WHERE state = 'streaming'), count(*) FILTER (WHERE sync_state = 'sync') FROM pg_stat_replication"
	var streaming, syncing int
	if err := c.queryRow(qctx, leader, "postgres", q, &streaming, &syncing); err != nil {
		return nil, err
	}
	if streaming != nodeCount-1 || (c.opts.SynchronousMode && syncing != 1) {
		return nil, fmt.Errorf("patronitest: %s: %d replicas streaming, %d sync", leader.Name, streaming, syncing)
	}
	return leader, nil
}

// Switchover asks the leader's Patroni (POST /switchover) to hand over to
// candidate, then waits until candidate leads a healthy cluster. In
// synchronous mode Patroni only accepts the synchronous standby.
func (c *Cluster) Switchover(ctx context.Context, candidate *Node) error {
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	body := map[string]string{"leader": leader.Name, "candidate": candidate.Name}
	if err := call(ctx, leader, http.MethodPost, "/switchover", body, nil); err != nil {
		return err
	}
	return c.waitLeader(ctx, candidate)
}

// Failover asks Patroni (POST /failover, sent to candidate's REST API, which
// answers when the leader is dead) to promote candidate, then waits until
// candidate leads a healthy cluster.
func (c *Cluster) Failover(ctx context.Context, candidate *Node) error {
	if err := call(ctx, candidate, http.MethodPost, "/failover", map[string]string{"candidate": candidate.Name}, nil); err != nil {
		return err
	}
	return c.waitLeader(ctx, candidate)
}

func (c *Cluster) waitLeader(ctx context.Context, want *Node) error {
	leader, err := c.WaitHealthy(ctx)
	if err != nil {
		return err
	}
	if leader != want {
		return fmt.Errorf("patronitest: %s leads, not %s", leader.Name, want.Name)
	}
	return nil
}

// Pause puts the cluster in maintenance mode (PATCH /config {"pause": true}):
// Patroni stops managing PostgreSQL, so nothing is restarted or promoted.
func (c *Cluster) Pause(ctx context.Context) error { return c.setPause(ctx, true) }

// Resume ends maintenance mode.
func (c *Cluster) Resume(ctx context.Context) error { return c.setPause(ctx, false) }

func (c *Cluster) setPause(ctx context.Context, pause bool) error {
	var errs []error
	for _, n := range c.nodes {
		err := call(ctx, n, http.MethodPatch, "/config", map[string]any{"pause": pause}, nil)
		if err == nil {
			return c.waitPause(ctx, pause)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// waitPause waits until every reachable Patroni reports the pause state.
func (c *Cluster) waitPause(ctx context.Context, pause bool) error {
	for {
		done := true
		for _, n := range c.nodes {
			var st Status
			qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := call(qctx, n, http.MethodGet, "/cluster", nil, &st)
			cancel()
			if err == nil && st.Pause != pause {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("patronitest: pause=%s not seen: %w", strconv.FormatBool(pause), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
