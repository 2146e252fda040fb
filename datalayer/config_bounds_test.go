package datalayer

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unknownKeys is a valid section followed by n unknown keys, each near a
// known one (so each asks for a suggestion) and each password-like (so each
// is a candidate secret for redaction).
func unknownKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("database:\n  host: h\n  database: d\n  unknown_keys: warn\n  password: " + testSecret + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  pool_sizes_%d: %d\n  x_password_%d: v%d\n", i, i, i, i)
	}
	return []byte(b.String())
}

// The work of ParseConfig per unknown key is a constant: it does not grow
// with the number of keys (no comparison of every key with every other) nor
// with the number of known keys times a costly setup. Counted in
// allocations, not time, so a loaded machine does not matter.
func TestParseConfigWorkIsLinear(t *testing.T) {
	perKey := func(n int) float64 {
		data := unknownKeys(n)
		allocs := testing.AllocsPerRun(1, func() {
			cfg, err := ParseConfig(data)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(cfg.Warnings), maxUnknownReported+1, "unknown keys reported are capped")
		})
		return allocs / float64(2*n)
	}
	small, large := perKey(500), perKey(5000)
	t.Logf("allocations per unknown key: %.1f at 1000 keys, %.1f at 10000", small, large)
	assert.Less(t, large, 1.5*small+1, "the work per key grows with the number of keys")
	assert.Less(t, large, 40.0, "too much work per unknown key")
}

func TestParseConfigUnknownKeysCapped(t *testing.T) {
	cfg, err := ParseConfig(unknownKeys(100))
	require.NoError(t, err)
	require.Len(t, cfg.Warnings, maxUnknownReported+1)
	assert.Equal(t, `unknown key "pool_sizes_0" ignored`, cfg.Warnings[0])
	assert.Equal(t, fmt.Sprintf("%d more unknown keys ignored", 200-maxUnknownReported), cfg.Warnings[maxUnknownReported])

	_, err = ParseConfig(append(unknownKeys(100), "  strict_mode: true\n"...))
	ce := requireConfigError(t, err)
	require.Len(t, ce.Fields, maxUnknownReported+1)
	assert.Equal(t, FieldError{Field: "database", Problem: fmt.Sprintf("%d more unknown keys (strict_mode)", 200-maxUnknownReported)}, ce.Fields[maxUnknownReported])
}

func TestParseConfigSizeBound(t *testing.T) {
	data := append(section(), "  # "+strings.Repeat("x", MaxConfigSize)+"\n"...)
	_, err := ParseConfig(data)
	ce := requireConfigError(t, err)
	require.Len(t, ce.Fields, 1)
	assert.Equal(t, "", ce.Fields[0].Field, "a problem of the whole file, not of a key")
	assert.Contains(t, ce.Fields[0].Problem, "larger than 1 MiB")

	// The file is not read past the bound.
	path := t.TempDir() + "/big.yaml"
	require.NoError(t, os.WriteFile(path, data, 0o600))
	_, err = LoadConfig(path)
	requireConfigError(t, err)
	assert.Contains(t, err.Error(), "larger than 1 MiB")

	_, _, err = MigrateLegacyConfig(data)
	requireConfigError(t, err)
}
