package datalayer

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/plugin"
)

type fixedSource []plugin.Member

func (f fixedSource) Discover(context.Context) ([]plugin.Member, error) { return f, nil }
func (f fixedSource) Source() string                                    { return "fixed" }

// deadPort is a loopback port where nothing listens any more.
func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestWithDiscoverer(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Database, cfg.Host, cfg.Port = "app", "127.0.0.1", deadPort(t)
	cfg.ConnectionTimeout = 200 * time.Millisecond
	other := plugin.Addr{Host: "127.0.0.1", Port: deadPort(t)}
	m, err := New(context.Background(), cfg, WithDiscoverer(fixedSource{{Addr: other}}))
	require.NoError(t, err)
	defer m.Close()
	st := m.Plugin().Status()
	assert.Equal(t, "fixed", st.Discovery.Source)
	require.Len(t, st.Nodes, 1)
	assert.Equal(t, other.String(), st.Nodes[0].Name, "the discoverer's list, not host")

	cfg.EnableHA = false
	_, err = New(context.Background(), cfg, WithDiscoverer(fixedSource{{Addr: other}}))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "enable_ha", ce.Fields[0].Field)
	assert.True(t, errors.Is(err, ErrInvalidConfig))
}

func TestConfigDiscoverer(t *testing.T) {
	cfg := DefaultConfig()
	assert.Nil(t, cfg.discoverer(), "static: no refresh loop")
	cfg.Host, cfg.Port, cfg.Discovery = "[::1]", 6432, DiscoveryDNS
	d, ok := cfg.discoverer().(*plugin.DNSDiscoverer)
	require.True(t, ok)
	assert.Equal(t, "::1", d.Name, "discovery_dns_name defaults to host")
	assert.Equal(t, 6432, d.Port)
	cfg.DiscoveryDNSName = "pg.service.consul"
	assert.Equal(t, "dns pg.service.consul:"+strconv.Itoa(6432), cfg.discoverer().Source())
	cfg.Discovery, cfg.PatroniURLs = DiscoveryPatroni, []string{"http://u:pw@p1:8008"}
	assert.Equal(t, "patroni http://u:xxxxx@p1:8008", cfg.discoverer().Source())
	assert.Equal(t, []string{"http://u:xxxxx@p1:8008"}, cfg.Redacted().PatroniURLs)
	assert.Equal(t, []string{"http://u:pw@p1:8008"}, cfg.PatroniURLs, "Redacted copies")
}
