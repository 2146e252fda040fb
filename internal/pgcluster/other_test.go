//go:build !linux

package pgcluster

import (
	"context"
	"errors"
	"testing"
)

func TestStartNeedsLinux(t *testing.T) {
	_, err := Start(context.Background(), Options{})
	if !errors.Is(err, ErrNeedsLinux) {
		t.Fatalf("got %v; want ErrNeedsLinux", err)
	}
	if _, err := LookupServerUser(); !errors.Is(err, ErrNeedsLinux) {
		t.Fatalf("LookupServerUser: %v; want ErrNeedsLinux", err)
	}
}
