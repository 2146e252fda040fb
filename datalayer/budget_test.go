package datalayer

import "testing"

// TestConnectionBudgetCountsEveryPool: every pool a node may use, and the
// probe, at their maximum; migration_host's pool apart.
func TestConnectionBudgetCountsEveryPool(t *testing.T) {
	c := DefaultConfig()
	b := c.ConnectionBudget()
	// (10+10)*2 + 5 + 5 + 1
	if b.PerNode != 51 || b.Write != 20 || b.Read != 20 || b.Batch != 5 || b.Transactional != 5 || b.Probe != 1 || b.Migration != 0 {
		t.Fatalf("default budget = %+v", b)
	}
	c.PoolSize, c.MaxOverflow, c.BatchPoolSize, c.TransactionalPoolSize = 2, 1, 1, 1
	c.MigrationHost = "db:5432"
	b = c.ConnectionBudget()
	if b.PerNode != 9 || b.Migration != directMaxConns {
		t.Fatalf("small budget = %+v", b)
	}
	if got := b.Fit(197); got != 21 {
		t.Fatalf("Fit(197) = %d", got)
	}
	if got := b.Fit(0); got != 0 {
		t.Fatalf("Fit(0) = %d", got)
	}
	if got := (ConnectionBudget{}).Fit(100); got != 0 {
		t.Fatalf("empty Fit = %d", got)
	}
}
