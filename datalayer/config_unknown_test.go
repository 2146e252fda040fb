package datalayer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// threeNodes is a three-node configuration with replica_hosts misspelled:
// read as-is it would be one node.
const threeNodes = "database:\n  host: pg1.internal\n  database: app\n  password: \"" + testSecret + "\"\n" +
	"  replica_host:\n    - pg2.internal\n    - pg3.internal\n"

// An unknown key fails LoadConfig by default, naming the key path and the
// key it is probably a typo of.
func TestLoadConfigUnknownKeyIsError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "database.yaml")
	require.NoError(t, os.WriteFile(path, []byte(threeNodes), 0o600))
	_, err := LoadConfig(path)
	ce := requireConfigError(t, err)
	require.True(t, ce.Has("database.replica_host"), "%v", ce.Fields)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), `database.replica_host: unknown key (did you mean "replica_hosts"?)`)
	assert.Contains(t, err.Error(), "unknown_keys: warn", "the error tells how to opt out")

	// A legacy key keeps its migration hint.
	_, err = ParseConfig(section("sync_pool_size: 3"))
	ce = requireConfigError(t, err)
	assert.Equal(t, "database.sync_pool_size", ce.Fields[0].Field)
	assert.Contains(t, ce.Fields[0].Problem, `a legacy key: use "pool_size", or run "unifieddb config migrate"`)

	// A key that is not a string is unknown too.
	_, err = ParseConfig([]byte("database:\n  host: h\n  database: d\n  ? [a, b]\n  : 1\n"))
	ce = requireConfigError(t, err)
	assert.Equal(t, "database", ce.Fields[0].Field)
	assert.Contains(t, ce.Fields[0].Problem, "unknown key (a list at line 4)")

	// Many unknown keys: the first few are named, the rest counted.
	_, err = ParseConfig([]byte(strings.Replace(string(unknownKeys(100)), "  unknown_keys: warn\n", "", 1)))
	ce = requireConfigError(t, err)
	require.Len(t, ce.Fields, maxUnknownReported+1)
	assert.Equal(t, FieldError{Field: "database", Problem: fmt.Sprintf("%d more unknown keys", 200-maxUnknownReported)}, ce.Fields[maxUnknownReported])
}

// unknown_keys: warn keeps unknown keys as warnings, with the suggestion.
func TestParseConfigUnknownKeysWarn(t *testing.T) {
	cfg, err := ParseConfig([]byte(threeNodes + "  unknown_keys: warn\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{`unknown key "replica_host" ignored (did you mean "replica_hosts"?)`}, cfg.Warnings)
	assert.Empty(t, cfg.ReplicaHosts)
	assert.Equal(t, UnknownKeysWarn, cfg.UnknownKeys)

	// ${VAR} works here as everywhere.
	t.Setenv("UNIFIEDDB_TEST_UNKNOWN_KEYS", "warn")
	_, err = ParseConfig([]byte(threeNodes + "  unknown_keys: ${UNIFIEDDB_TEST_UNKNOWN_KEYS}\n"))
	require.NoError(t, err)

	// strict_mode keeps meaning what it means: unknown keys are errors.
	_, err = ParseConfig([]byte(threeNodes + "  unknown_keys: warn\n  strict_mode: true\n"))
	ce := requireConfigError(t, err)
	assert.Equal(t, []FieldError{{Field: "replica_host", Problem: `unknown key "replica_host" (did you mean "replica_hosts"?) (strict_mode)`}}, ce.Fields)

	// A bad value is an error, and the unknown key is judged as by default.
	_, err = ParseConfig([]byte(threeNodes + "  unknown_keys: ignore\n"))
	ce = requireConfigError(t, err)
	assert.Equal(t, []string{"database.replica_host", "unknown_keys"}, configFieldNames(ce))
	assert.Contains(t, ce.Fields[1].Problem, `must be error or warn, got "ignore"`)

	// The zero value of a Config built in Go is valid (it means error).
	c := validTestConfig()
	c.UnknownKeys = ""
	require.NoError(t, c.Validate())
}

// New logs every warning the configuration carries at WARN.
func TestNewLogsConfigWarnings(t *testing.T) {
	cfg, err := ParseConfig([]byte(threeNodes + "  unknown_keys: warn\n"))
	require.NoError(t, err)
	cfg.Host, cfg.Port = "127.0.0.1", deadPort(t)
	cfg.ConnectionTimeout = 200 * time.Millisecond
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := New(context.Background(), cfg, WithLogger(log))
	require.NoError(t, err)
	require.NoError(t, m.Close()) // its probes log too: read the log once they are done
	assert.Contains(t, buf.String(), `level=WARN msg="unifieddb: configuration" warning="unknown key \"replica_host\" ignored (did you mean \"replica_hosts\"?)"`)
}
