package plugin

import (
	"context"
	"database/sql"
	"sync"

	"github.com/prompt-improver/unifieddb/internal/cluster"
	"gorm.io/gorm"
)

// GORM's Session{PrepareStmt: true} wraps the statement's pool in a
// *gorm.PreparedStmtDB, which caches one *sql.Stmt per query text: a
// statement bound to the one node that prepared it. Through the plugin a
// query runs on whichever node its route picks, so the plugin prepares
// instead, per pool of every node: the route callback swaps GORM's wrapper
// for the route's prepared twin (see placed).

// maxStmts bounds one pool's prepared statements; past it, new queries run
// unprepared rather than grow the cache (and the server's) without limit.
const maxStmts = 1024

// stmtCache holds one pool's prepared statements by query text. database/sql
// prepares a *sql.Stmt again on each connection that runs it, so one entry
// serves the whole pool.
type stmtCache struct {
	// unprepared: a transaction pooler is in front (TransactionPooling);
	// statements run unprepared.
	unprepared bool

	mu    sync.Mutex
	stmts map[string]*sql.Stmt

	txOnce sync.Once
	tx     *gorm.PreparedStmtDB // GORM's cache for this pool's transactions (see onItsPool)
}

// onItsPool points a PrepareStmt transaction's statement cache at one of
// its own pool. GORM keeps one cache per handle and reuses its statements
// in every transaction; database/sql refuses a statement prepared on
// another *sql.DB ("statement from different database used"), and through
// the plugin each node's pool is one. So a transaction a route began
// prepares in its pool's cache, as a plain GORM transaction prepares in the
// cache of its only *sql.DB.
func (p *Plugin) onItsPool(cp gorm.ConnPool) {
	ptx, ok := cp.(*gorm.PreparedStmtTX)
	if !ok {
		return
	}
	st := txOf(ptx)
	if st == nil {
		return
	}
	if st.lazy {
		// Its statements are prepared through the virtual pool: the
		// plugin's cache of that pool (lazytx.go).
		if ptx.PreparedStmtDB != p.lazyStmts {
			ptx.PreparedStmtDB = p.lazyStmts
		}
		return
	}
	c := stmtsOf(st.pl)
	if c == nil {
		return
	}
	c.txOnce.Do(func() { c.tx = gorm.NewPreparedStmtDB(st.pl.DB, maxStmts, 0) })
	if ptx.PreparedStmtDB != c.tx {
		ptx.PreparedStmtDB = c.tx
	}
}

// stmtsOf is pl's statement cache (the pool's Local, set by the plugin's
// connector seam), nil for a pool made otherwise (tests).
func stmtsOf(pl *cluster.Pool) *stmtCache {
	c, _ := pl.Local.(*stmtCache)
	return c
}

// get returns the statement for query, preparing it on first use; nil when
// the cache is full.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxStmts
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	if full {
		return nil, nil
	}
	// Prepared outside the lock: a slow node must not stall other queries.
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok {
		st.Close()
		return prev, nil
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*sql.Stmt)
	}
	c.stmts[query] = st
	return st, nil
}

// preparedOver reports whether cp is GORM's prepared-statement wrapper
// around one of the plugin's routes.
func preparedOver(cp gorm.ConnPool) bool {
	ps, ok := cp.(*gorm.PreparedStmtDB)
	if !ok {
		return false
	}
	_, ours := ps.ConnPool.(*route)
	return ours
}

// recordPrepared keeps GORM's own statement cache as plain GORM would have
// it after a statement of a PrepareStmt session ran: its query text is
// among PreparedStmtDB.Stmts.Keys(), with a statement prepared the way GORM
// prepares it (through the session's pool, on the primary). The plugin ran
// the statement with its own per-pool statement (see placed); GORM's entry
// costs one prepare per distinct query, and GORM closes it as it closes
// its own (Close, LRU, TTL). Row and Rows are left out: their rows are still
// open, and the prepare could wait for the very connection they hold.
func recordPrepared(db *gorm.DB) {
	stmt := db.Statement
	if db.Error != nil || db.DryRun || stmt.SQL.Len() == 0 {
		return
	}
	r, ok := stmt.ConnPool.(*route)
	if !ok || !r.prep {
		return
	}
	ps, ok := db.Config.ConnPool.(*gorm.PreparedStmtDB)
	if !ok || !preparedOver(ps) || ps.Stmts == nil || ps.Mux == nil {
		return
	}
	query := stmt.SQL.String()
	ps.Mux.RLock()
	_, ok = ps.Stmts.Get(query)
	ps.Mux.RUnlock()
	if ok {
		return
	}
	ps.Mux.Lock()
	if _, ok := ps.Stmts.Get(query); ok {
		ps.Mux.Unlock()
		return
	}
	// New unlocks Mux once the entry is in, before it prepares. The
	// statement already ran: its caller waits for a free connection no
	// longer than pool_timeout (a failed prepare leaves no entry).
	ctx, cancel := context.WithTimeout(stmt.Context, r.p.opts.PoolTimeout)
	defer cancel()
	_, _ = ps.Stmts.New(ctx, query, false, ps.ConnPool, ps.Mux)
}
