//go:build linux

package soak

import (
	"math"
	"testing"
)

// TestFitFindsGrowthAndNoise: the slope test of the resource samples tells
// a leak from noise.
func TestFitFindsGrowthAndNoise(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4}
	slope, sd := fit(xs, []float64{10, 12, 14, 16, 18})
	if math.Abs(slope-2) > 1e-9 || sd > 1e-9 {
		t.Fatalf("a line: slope %v, sd %v", slope, sd)
	}
	slope, sd = fit(xs, []float64{10, 11, 10, 11, 10})
	if math.Abs(slope) > 0.2 || sd == 0 {
		t.Fatalf("noise: slope %v, sd %v", slope, sd)
	}
}
