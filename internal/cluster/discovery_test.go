package cluster

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// patroniClusterJSON is GET /cluster of Patroni 3.0.2 during a failover:
// the leader listed last, a replica with lag "unknown", one stopped.
const patroniClusterJSON = `{"members": [
 {"name": "node2", "role": "replica", "state": "streaming", "api_url": "http://127.0.0.1:8009/patroni",
  "host": "127.0.0.1", "port": 5433, "timeline": 3, "lag": 0, "tags": {"nofailover": false}},
 {"name": "node3", "role": "replica", "state": "stopped", "api_url": "http://127.0.0.1:8010/patroni",
  "host": "::1", "port": 5434, "lag": "unknown"},
 {"name": "node1", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:8008/patroni",
  "host": "127.0.0.1", "port": 5432, "timeline": 3}
], "scope": "demo", "pause": false}`

func TestParsePatroniCluster(t *testing.T) {
	ms, err := parsePatroniCluster([]byte(patroniClusterJSON))
	require.NoError(t, err)
	require.Equal(t, []Member{
		{Addr: Addr{"127.0.0.1", 5432}, Role: "leader", State: "running"},
		{Addr: Addr{"127.0.0.1", 5433}, Role: "replica", State: "streaming"},
		{Addr: Addr{"::1", 5434}, Role: "replica", State: "stopped", Suspect: true},
	}, ms, "leader first; a stopped member is suspect, not dropped")
	assert.Equal(t, "[::1]:5434", ms[2].Addr.String())

	for name, body := range map[string]string{
		"not JSON":       `<html>`,
		"no members key": `{"scope": "demo"}`,
		"no host":        `{"members": [{"name": "n", "port": 5432}]}`,
		"bad port":       `{"members": [{"name": "n", "host": "h", "port": 70000}]}`,
	} {
		_, err := parsePatroniCluster([]byte(body))
		assert.Error(t, err, name)
	}
	ms, err = parsePatroniCluster([]byte(`{"members": []}`))
	require.NoError(t, err)
	assert.ErrorIs(t, checkMembers(ms), ErrNoMembers, "an empty cluster is refused by the refresh, not obeyed")
}

func TestPatroniDiscovererTriesEachURL(t *testing.T) {
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.URL.Path)
		w.Write([]byte(patroniClusterJSON))
	}))
	defer srv.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	dead := "http://" + deadListener(t)

	d := &PatroniDiscoverer{URLs: []string{dead, broken.URL, srv.URL + "/"}}
	ms, err := d.Discover(context.Background())
	require.NoError(t, err)
	assert.Len(t, ms, 3)
	assert.Equal(t, []string{"/cluster"}, hits)

	d = &PatroniDiscoverer{URLs: []string{dead, broken.URL}}
	_, err = d.Discover(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503", "every URL's failure is reported")
	assert.Contains(t, err.Error(), dead)

	d = &PatroniDiscoverer{URLs: []string{"http://api:s3cret@127.0.0.1:1"}}
	assert.NotContains(t, d.Source(), "s3cret")
	_, err = d.Discover(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestDNSDiscoverer(t *testing.T) {
	answer := []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("::ffff:10.0.0.3"),
		netip.MustParseAddr("fd00::4"), netip.MustParseAddr("10.0.0.2")}
	var asked string
	d := &DNSDiscoverer{Name: "db.internal", Port: 6432, Resolve: func(_ context.Context, name string) ([]netip.Addr, error) {
		asked = name
		return answer, nil
	}}
	ms, err := d.Discover(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "db.internal", asked)
	assert.Equal(t, []Member{
		{Addr: Addr{"10.0.0.2", 6432}}, {Addr: Addr{"10.0.0.3", 6432}}, {Addr: Addr{"fd00::4", 6432}},
	}, ms, "every A/AAAA record once, IPv4-mapped unmapped")
	assert.Equal(t, "dns db.internal:6432", d.Source())

	d.Resolve = func(context.Context, string) ([]netip.Addr, error) { return nil, errors.New("NXDOMAIN") }
	_, err = d.Discover(context.Background())
	assert.ErrorContains(t, err, "NXDOMAIN")
}

func TestDiffMembers(t *testing.T) {
	a, b, c := Addr{"a", 1}, Addr{"b", 1}, Addr{"c", 1}
	add, remove := diffMembers([]Addr{a, b}, []Member{{Addr: b}, {Addr: c}})
	assert.Equal(t, []Member{{Addr: c}}, add)
	assert.Equal(t, []Addr{a}, remove)

	add, remove = diffMembers([]Addr{a, b}, []Member{{Addr: b, Role: "leader"}, {Addr: a}})
	assert.Empty(t, add, "order and roles are no change of membership")
	assert.Empty(t, remove)
}

func TestCheckMembers(t *testing.T) {
	assert.NoError(t, checkMembers([]Member{{Addr: Addr{"a", 1}}}))
	assert.ErrorIs(t, checkMembers(nil), ErrNoMembers)
	assert.ErrorContains(t, checkMembers([]Member{{Addr: Addr{"a", 1}}, {Addr: Addr{"a", 1}}}), "twice")
	assert.ErrorContains(t, checkMembers([]Member{{Addr: Addr{"", 1}}}), "bad address")
	assert.ErrorContains(t, checkMembers([]Member{{Addr: Addr{"a", 0}}}), "bad address")
	many := make([]Member, 65)
	for i := range many {
		many[i].Addr = Addr{"h", i + 1}
	}
	assert.ErrorContains(t, checkMembers(many), "more than 64")
}

func TestDisagrees(t *testing.T) {
	up := nodeState{up: true, role: RoleReplica}
	primary := nodeState{up: true, role: RolePrimary}
	assert.True(t, disagrees(Member{Suspect: true}, &up), "Patroni says not running: probe now")
	assert.False(t, disagrees(Member{Suspect: true}, &nodeState{}), "already down")
	assert.True(t, disagrees(Member{Role: "leader"}, &up), "Patroni's leader is a replica to the probes")
	assert.False(t, disagrees(Member{Role: "leader"}, &primary))
	assert.True(t, disagrees(Member{Role: "replica"}, &primary), "Patroni's replica still writable to the probes")
	assert.False(t, disagrees(Member{Role: "sync_standby"}, &up))
	assert.False(t, disagrees(Member{}, &up), "no view (static, DNS): no signal")
}

// deadListener is a loopback address where nothing listens any more.
func deadListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestPatroniSourceNamesEveryURL(t *testing.T) {
	d := &PatroniDiscoverer{URLs: []string{"http://h1:8008", "http://h2:8008"}}
	assert.Equal(t, "patroni http://h1:8008,http://h2:8008", d.Source())
	assert.False(t, strings.Contains(d.Source(), "@"))
}

// The source's view is recorded on each node, and a node it contradicts is
// probed at once; nothing else changes: the probe decides.
func TestApplyMembersProbesWhereTheSourceDisagrees(t *testing.T) {
	p, _ := testCluster(t, 3)
	ns := p.Nodes()
	for i, n := range ns {
		n.Addr, n.kick = Addr{"h", i + 1}, make(chan struct{}, 1)
	}
	ns[0].st.role = RolePrimary
	kicked := func() (out []int) {
		for i, n := range ns {
			select {
			case <-n.kick:
				out = append(out, i)
			default:
			}
		}
		return out
	}
	p.applyMembers([]Member{
		{Addr: ns[0].Addr, Role: "replica", State: "streaming"},              // writable to the probes
		{Addr: ns[1].Addr, Role: "replica", State: "stopped", Suspect: true}, // up to the probes
		{Addr: ns[2].Addr, Role: "leader", State: "running"},                 // a replica to the probes
	})
	p.runQueued()
	assert.Equal(t, []int{0, 1, 2}, kicked())
	assert.Equal(t, "stopped", ns[1].st.srcState)
	assert.True(t, ns[1].st.up, "a suspect stays up until its probe fails")
	assert.Equal(t, ns, p.Nodes(), "no change of membership")

	p.applyMembers([]Member{
		{Addr: ns[0].Addr, Role: "leader", State: "running"},
		{Addr: ns[1].Addr, Role: "replica", State: "streaming"},
		{Addr: ns[2].Addr, Role: "sync_standby", State: "streaming"},
	})
	p.runQueued()
	assert.Empty(t, kicked())
	assert.Equal(t, "leader", ns[0].st.srcRole)
}
