package cluster

import (
	"math/rand/v2"
	"time"
)

// Jitter spreads d by up to ±frac at random. The instances of a fleet
// start together and see a failover at the same moment: without it their
// probes and retries would stay in step, and every server would get N
// probes (or N reconnects) in the same millisecond instead of spread out.
func Jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 || frac <= 0 {
		return d
	}
	return d + time.Duration((rand.Float64()*2-1)*frac*float64(d))
}
