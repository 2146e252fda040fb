package plugin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Discovery's options are checked with the plugin's (moved here from the
// cluster's membership test: the checks are the plugin's).
func TestDiscoveryOptionsValidate(t *testing.T) {
	o := Options{Discovery: &DNSDiscoverer{Name: "db", Port: 5432}, DiscoveryInterval: time.Second}
	o.EnableHA = false
	assert.ErrorContains(t, o.validate(), "Discovery needs EnableHA")
	o.EnableHA, o.DiscoveryInterval = true, 0
	assert.ErrorContains(t, o.validate(), "DiscoveryInterval")
}
