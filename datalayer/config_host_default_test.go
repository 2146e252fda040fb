package datalayer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// host is not required: left out it is localhost (as the README's table
// says); only an empty one is refused.
func TestHostDefaultsToLocalhost(t *testing.T) {
	cfg, err := ParseConfig([]byte("database:\n  database: app\n"))
	require.NoError(t, err)
	assert.Equal(t, "localhost", cfg.Host)
	assert.Equal(t, 5432, cfg.Port)

	_, err = ParseConfig([]byte("database:\n  database: app\n  host: \"\"\n"))
	assert.True(t, requireConfigError(t, err).Has("host"))
}
