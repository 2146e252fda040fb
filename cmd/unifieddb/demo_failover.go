package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/models"
)

// timeline collects what happened during the failover act, from the test
// driver and from the Manager's hooks.
type timeline struct {
	mu     sync.Mutex
	start  time.Time
	events []event
	names  map[string]string // host:port → node name
}

type event struct {
	at   time.Time
	what string
}

func (t *timeline) add(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, event{at: time.Now(), what: fmt.Sprintf(format, args...)})
}

func (t *timeline) name(addr string) string {
	if n, ok := t.names[addr]; ok {
		return n
	}
	return addr
}

// hooks report the Manager's view into the timeline.
func (t *timeline) hooks() datalayer.Hooks {
	return datalayer.Hooks{
		NodeDown: func(node string, err error) { t.add("manager: %s is down", t.name(node)) },
		NodeUp:   func(node string) { t.add("manager: %s is back", t.name(node)) },
		Failover: func(old, primary string, took time.Duration) {
			t.add("manager: writes now go to %s (failover from %s)", t.name(primary), t.name(old))
		},
	}
}

// demoFailover crashes the primary under a small write load, promotes
// replica1 (a synchronous standby) and shows the timeline and that no
// acknowledged write was lost.
func demoFailover(ctx context.Context, o *demoOut, c *pgcluster.Cluster, m *datalayer.Manager, tl *timeline) error {
	o.heading("Failover: crash the primary under load")
	primary, next, other := c.Node("primary"), c.Node("replica1"), c.Node("replica2")
	// Once promoted, replica1 must not wait for a synchronous standby itself.
	if err := next.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = ''"); err != nil {
		return err
	}
	if err := next.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return err
	}
	var (
		mu            sync.Mutex
		acked         []string
		failed        []error
		firstAfter    time.Time
		crashedAt     time.Time
		wg            sync.WaitGroup
		loadCtx, stop = context.WithCancel(ctx)
	)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; loadCtx.Err() == nil; seq++ {
				email := fmt.Sprintf("load-%d-%d@example.test", w, seq)
				wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				err := m.Conn(wctx, datalayer.ReadWrite).Create(&models.User{Name: "load", Email: email, Active: true}).Error
				cancel()
				mu.Lock()
				if err == nil {
					acked = append(acked, email)
					if !crashedAt.IsZero() && firstAfter.IsZero() {
						firstAfter = time.Now()
						tl.add("first write acknowledged after the crash")
					}
				} else {
					failed = append(failed, err)
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	tl.start = time.Now()
	tl.add("primary crashed (SIGKILL of every server process)")
	if err := primary.Kill(); err != nil {
		stop()
		wg.Wait()
		return err
	}
	mu.Lock()
	crashedAt = time.Now()
	mu.Unlock()
	time.Sleep(1500 * time.Millisecond)
	tl.add("replica1 asked to promote (pg_promote)")
	if err := next.Promote(ctx); err != nil {
		stop()
		wg.Wait()
		return err
	}
	if err := other.Repoint(ctx, next); err != nil {
		stop()
		wg.Wait()
		return err
	}
	tl.add("replica2 now streams from replica1")
	time.Sleep(time.Second)
	stop()
	wg.Wait()

	tl.mu.Lock()
	evs := append([]event(nil), tl.events...)
	tl.mu.Unlock()
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	rows := [][]string{{"TIME", "EVENT"}}
	for _, e := range evs {
		if e.at.Before(tl.start) {
			continue
		}
		rows = append(rows, []string{fmt.Sprintf("+%dms", e.at.Sub(tl.start).Milliseconds()), e.what})
	}
	o.table(rows)

	// Every acknowledged write must be on the new primary, once.
	var onNew int64
	if err := m.Conn(ctx, datalayer.ReadWrite).Model(&models.User{}).Where("email IN ?", acked).Count(&onNew).Error; err != nil {
		return fmt.Errorf("counting acknowledged writes on the new primary: %w", err)
	}
	unknown := 0
	for _, err := range failed {
		if errors.Is(err, datalayer.ErrOutcomeUnknown) {
			unknown++
		}
	}
	o.line("%d writes acknowledged; %d of them on the new primary (lost: %d)", len(acked), onNew, int64(len(acked))-onNew)
	o.line("%d writes failed, %d of them in flight at the crash (ErrOutcomeUnknown: may or may not have been applied)", len(failed), unknown)
	o.line("writes issued during the outage waited for the new primary instead of failing")
	if int64(len(acked)) != onNew {
		return fmt.Errorf("%d acknowledged writes are missing on the new primary", int64(len(acked))-onNew)
	}
	if unknown != len(failed) {
		return fmt.Errorf("%d writes failed for another reason than being in flight at the crash: %v", len(failed)-unknown, failed)
	}
	return nil
}
