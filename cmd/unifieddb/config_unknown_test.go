package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A misspelled key fails config validate (exit 1) with the suggestion, by
// default and with unknown_keys: warn (LoadConfig accepts that file, but the
// key does nothing).
func TestConfigValidateUnknownKey(t *testing.T) {
	dir := t.TempDir()
	body := "database:\n  host: db.internal\n  database: app\n  password: \"" + legacyPassword + "\"\n  replica_host: [db2.internal, db3.internal]\n"
	typo := writeFile(t, filepath.Join(dir, "typo.yaml"), body)
	code, stdout, stderr := runCmd(t, "config", "validate", typo)
	assert.Equal(t, exitFail, code, stderr)
	assert.Contains(t, stdout, typo+": invalid, 1 problem(s)")
	assert.Contains(t, stdout, `  database.replica_host: unknown key (did you mean "replica_hosts"?)`)
	assert.NotContains(t, stdout+stderr, legacyPassword)

	warn := writeFile(t, filepath.Join(dir, "warn.yaml"), body+"  unknown_keys: warn\n")
	code, stdout, stderr = runCmd(t, "config", "validate", warn)
	assert.Equal(t, exitFail, code, stderr)
	assert.Contains(t, stdout, warn+": loads, but with 1 warning(s)")
	assert.Contains(t, stdout, `  warning: unknown key "replica_host" ignored (did you mean "replica_hosts"?)`)
	assert.NotContains(t, stdout, ": valid")

	code, stdout, _ = runCmd(t, "config", "validate", "--json", warn)
	assert.Equal(t, exitFail, code)
	var v struct {
		Valid    bool
		Warnings []string
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &v), stdout)
	assert.True(t, v.Valid, "LoadConfig accepts it")
	assert.Len(t, v.Warnings, 1)
}
