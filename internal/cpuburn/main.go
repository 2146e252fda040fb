// Command cpuburn keeps every core busy so that `make stress` runs the
// failover tests on a loaded machine, where hangs and races show. It spins
// GOMAXPROCS goroutines and stops by itself after -max, when it is signalled,
// or when its parent exits, so a killed `make` never leaves it behind.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func main() {
	limit := flag.Duration("max", 30*time.Minute, "stop after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	fmt.Fprintf(os.Stderr, "cpuburn: %d spinning goroutines for at most %s (pid %d)\n", runtime.GOMAXPROCS(0), *limit, os.Getpid())
	burn(ctx, os.Getppid)
}

// burn spins until ctx ends or the parent process changes: an orphan is
// re-parented, so a changed parent pid means ours has exited.
func burn(ctx context.Context, ppid func() int) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parent := ppid()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if n%(1<<20) == 0 && ctx.Err() != nil {
					return
				}
			}
		}()
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			if ppid() != parent {
				cancel()
			}
		}
	}
	wg.Wait()
}
