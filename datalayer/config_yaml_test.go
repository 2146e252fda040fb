package datalayer

import (
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigKeysCoverEveryField keeps configKeys in step with Config.
func TestConfigKeysCoverEveryField(t *testing.T) {
	var c Config
	seen := map[uintptr]string{}
	base := reflect.ValueOf(&c).Pointer()
	for _, k := range configKeys {
		off := reflect.ValueOf(k.field(&c)).Pointer() - base
		_, dup := seen[off]
		require.False(t, dup, "two keys for one field: %s", k.name)
		seen[off] = k.name
	}
	typ := reflect.TypeOf(c)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Name == "Warnings" || f.Name == "Clusters" || f.Name == "Tables" {
			continue // not a key of configKeys: see config_clusters.go
		}
		_, ok := seen[f.Offset]
		assert.True(t, ok, "field %s has no YAML key in configKeys", f.Name)
	}
	for name := range clusterKeys {
		_, ok := configKeyIndex[name]
		assert.True(t, ok, "clusterKeys has %s, which configKeys has not", name)
	}
}

func TestMarshalYAMLOrder(t *testing.T) {
	out, err := validTestConfig().MarshalYAML()
	require.NoError(t, err)
	var keys []string
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") {
			k, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			keys = append(keys, k)
		}
	}
	contract := []string{"host", "port", "database", "username", "password", "pool_size", "max_overflow",
		"pool_timeout", "pool_recycle", "replica_hosts", "failover_timeout", "health_check_interval",
		"statement_cache_size", "prepared_statement_cache_size", "connection_timeout", "enable_ha",
		"enable_metrics", "enable_health_checks", "strict_mode", "echo", "debug_mode"}
	require.Len(t, keys, len(configKeys))
	assert.Equal(t, contract, keys[:len(contract)])
	assert.True(t, strings.HasPrefix(string(out), "database:\n  host: db.internal\n"))
	assert.Contains(t, string(out), "\n  pool_timeout: 30 # seconds\n")
	assert.Contains(t, string(out), "\n  read_your_writes_timeout: 0.1 # seconds\n")
	assert.Contains(t, string(out), "\n  replica_hosts: []\n")
}

func TestMarshalYAMLRoundTrip(t *testing.T) {
	configs := []Config{DefaultConfig(), validTestConfig()}

	// Every field set away from its default, with awkward values.
	odd := validTestConfig()
	odd.Host = "::1"
	odd.Port = 1
	odd.Database = "true"
	odd.Username = "0123"
	odd.Password = `p@ss: "${HOME}" $$ # 'x'`
	odd.ReplicaHosts = []string{"r1", "r2:5433", "[::1]:5434"}
	odd.PoolSize, odd.MaxOverflow = 1, 0
	odd.PoolTimeout = time.Nanosecond
	odd.PoolRecycle = 0
	odd.FailoverTimeout = 90*time.Second + 1
	odd.HealthCheckInterval = time.Duration(math.MaxInt64)
	odd.StatementCacheSize, odd.PreparedStatementCacheSize = 0, 0
	odd.ConnectionTimeout = 1500 * time.Millisecond
	odd.EnableHA, odd.EnableMetrics, odd.EnableHealthChecks = false, false, false
	odd.StrictMode, odd.Echo, odd.DebugMode = true, true, true
	odd.SSLMode, odd.ApplicationName = "disable", "null"
	odd.MaxReplicationLag = 0
	odd.ReplicaPolicy, odd.FallbackToPrimary = "random", false
	odd.BatchPoolSize, odd.BatchSize, odd.TransactionalPoolSize = 1, 1, 1
	odd.StatementTimeout, odd.BatchStatementTimeout = 33*time.Millisecond, 0
	odd.TransactionRetries, odd.ReadYourWritesTimeout = 0, 0
	configs = append(configs, odd)

	for i, c := range configs {
		out, err := c.MarshalYAML()
		require.NoError(t, err)
		back, err := ParseConfig(out)
		if i == 0 {
			// DefaultConfig has no database: it marshals, but does not validate.
			ce := requireConfigError(t, err)
			assert.Equal(t, []string{"database"}, configFieldNames(ce))
			continue
		}
		require.NoError(t, err, string(out))
		assert.Equal(t, c, back, string(out))
	}

	// Redacted output never has the password.
	out, err := validTestConfig().Redacted().MarshalYAML()
	require.NoError(t, err)
	assert.NotContains(t, string(out), "hunter2")
	assert.Contains(t, string(out), `password: '***'`)
}

func TestSeconds(t *testing.T) {
	for _, d := range []time.Duration{0, 1, -1, time.Millisecond, 100 * time.Millisecond, 30 * time.Second,
		time.Hour + 1, math.MaxInt64, math.MinInt64, -1500 * time.Millisecond} {
		got, err := parseSeconds(formatSeconds(d))
		require.NoError(t, err, formatSeconds(d))
		assert.Equal(t, d, got, formatSeconds(d))
	}
	assert.Equal(t, "0.1", formatSeconds(100*time.Millisecond))
	assert.Equal(t, "-9223372036.854775808", formatSeconds(math.MinInt64))
	for _, s := range []string{"9223372036.854775808", "-9223372036.854775809", "99999999999999999999"} {
		_, err := parseSeconds(s)
		assert.Error(t, err, s)
	}
}

// gopkg.in/yaml.v3 is archived; its maintained successor go.yaml.in/yaml/v3
// is the one YAML library of the configuration code.
func TestYAMLLibraryIsTheMaintainedOne(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	uses := false
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			assert.NotEqual(t, "gopkg.in/yaml.v3", path, "%s imports the archived YAML library", name)
			uses = uses || path == "go.yaml.in/yaml/v3"
		}
	}
	assert.True(t, uses)
}
