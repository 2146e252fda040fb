package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// PatroniDiscoverer reads the members of a Patroni cluster from the REST API
// (GET /cluster) of any of URLs: the first that answers gives the list, so
// one Patroni down does not stop discovery.
type PatroniDiscoverer struct {
	// URLs are Patroni REST API base URLs ("http://10.0.0.1:8008").
	URLs []string
	// Client sends the requests; nil: a client without timeout (ctx bounds
	// each call).
	Client *http.Client
}

// Source implements Discoverer.
func (d *PatroniDiscoverer) Source() string {
	return "patroni " + strings.Join(redactURLs(d.URLs), ",")
}

// Discover implements Discoverer.
func (d *PatroniDiscoverer) Discover(ctx context.Context) ([]Member, error) {
	if len(d.URLs) == 0 {
		return nil, errors.New("unifieddb: patroni discovery: no URL")
	}
	var errs []error
	for _, u := range d.URLs {
		ms, err := d.fetch(ctx, u)
		if err == nil {
			return ms, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (d *PatroniDiscoverer) fetch(ctx context.Context, base string) ([]Member, error) {
	shown := redactURL(base)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/cluster", nil)
	if err != nil {
		return nil, fmt.Errorf("patroni %s: %w", shown, redactErr(err, base, shown))
	}
	// A new connection each time: nothing stays open (no goroutine) between
	// lookups or after Close, and a member's address change is seen.
	req.Close = true
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("patroni %s: %w", shown, redactErr(err, base, shown))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("patroni %s: %w", shown, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("patroni %s: GET /cluster: %s", shown, resp.Status)
	}
	ms, err := parsePatroniCluster(body)
	if err != nil {
		return nil, fmt.Errorf("patroni %s: %w", shown, err)
	}
	return ms, nil
}

// patroniMember is one entry of GET /cluster's "members".
type patroniMember struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	State string `json:"state"`
	Host  string `json:"host"`
	Port  int    `json:"port"`
}

// patroniServing are the states of a member whose PostgreSQL serves:
// "running" (a leader; a replica before Patroni 3.0.4), "streaming" (a
// replica), "in archive recovery" (a replica restoring WAL from the archive).
var patroniServing = []string{"running", "streaming", "in archive recovery"}

// parsePatroniCluster reads the members of Patroni's GET /cluster answer,
// the leader first (it is assumed primary until the first probes answer).
// A member without host or port is an error: Patroni always lists them.
func parsePatroniCluster(body []byte) ([]Member, error) {
	var doc struct {
		Members *[]patroniMember `json:"members"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("GET /cluster: %w", err)
	}
	if doc.Members == nil {
		return nil, errors.New(`GET /cluster: no "members"`)
	}
	var ms []Member
	for i, pm := range *doc.Members {
		if pm.Host == "" || pm.Port <= 0 || pm.Port > 65535 {
			return nil, fmt.Errorf("GET /cluster: member %d (%q): bad host %q or port %d", i, pm.Name, pm.Host, pm.Port)
		}
		m := Member{
			Addr:    Addr{Host: pm.Host, Port: pm.Port},
			Role:    pm.Role,
			State:   pm.State,
			Suspect: !slices.Contains(patroniServing, pm.State),
		}
		if pm.Role == "leader" || pm.Role == "standby_leader" {
			ms = append([]Member{m}, ms...)
		} else {
			ms = append(ms, m)
		}
	}
	return ms, nil
}

// patroniPrimary reports whether a Patroni role is the writable leader.
func patroniPrimary(role string) bool { return role == "leader" }

// patroniReplica reports whether a Patroni role is a standby.
func patroniReplica(role string) bool {
	return role == "replica" || role == "sync_standby" || role == "quorum_standby"
}

// redactURLs hides user info (a REST API password) in URLs shown in reports.
func redactURLs(us []string) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = redactURL(u)
	}
	return out
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// redactErr replaces the URL as written (user info included) in an error
// message by its redacted form.
func redactErr(err error, raw, shown string) error {
	if raw == shown {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), raw, shown))
}
