package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBurnStopsWhenTheParentExits(t *testing.T) {
	var parent atomic.Int32
	parent.Store(100)
	done := make(chan struct{})
	go func() {
		burn(context.Background(), func() int { return int(parent.Load()) })
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("stopped while the parent lived")
	case <-time.After(500 * time.Millisecond):
	}
	parent.Store(1) // re-parented to init: ours has exited
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("still burning 30 s after its parent exited")
	}
}

func TestBurnStopsAtItsDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	burn(ctx, func() int { return 100 })
	assert.Less(t, time.Since(start), 30*time.Second)
}
