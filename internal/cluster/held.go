package cluster

import "database/sql"

// The pool_timeout bound needs to know, before each statement, whether the
// pool is exhausted (a caller would queue in database/sql, which waits
// without a bound): then the statement takes its connection through Conn,
// which waits at most pool_timeout. sql.DB.Stats would say, but it takes the
// *sql.DB's mutex, the very lock every statement already contends on to get
// its connection. database/sql queues a caller only when it has opened every
// connection it may, so the query path counts, in Open, the driver
// connections open (its connector's Connect and the connection's Close:
// nothing per statement), and Full asks Stats only when that count is at the
// limit. Loading it is one atomic read of a line that changes only when a
// connection opens or closes.
//
// Until issue 21 every statement added itself to Held and took itself off
// again, two locked adds per statement on a line every core writes; Held now
// counts only the connections the query path holds for a transaction or
// Conn, for pools whose connections are not the query path's (tests with a
// fake driver).
//
// The answer is a hint either way (another caller may take the last free
// connection right after any check):
//   - Open lags database/sql's own count while a connection is being dialled
//     or closed: a statement arriving then may queue in database/sql until
//     the dial or a statement ends;
//   - Held too high (database/sql ended a transaction on its own, its
//     context ended before Commit or Rollback reached the plugin) costs a
//     Stats call, never a wrong answer;
//   - a pool that has opened every connection it may and keeps them (Batch
//     and Transactional pools keep as many idle as they may open) asks Stats
//     on every statement: one more turn of the lock its statements take
//     anyway, instead of two locked adds.

// Full reports whether every connection the pool may open is in use, so a
// caller would queue.
func (pl *Pool) Full() bool {
	if pl.Max <= 0 || pl.Open.Load() < pl.Max && pl.Held.Load() < pl.Max {
		return false
	}
	// Only on a pool that has opened every connection it may.
	s := pl.DB.Stats()
	return s.InUse >= s.MaxOpenConnections
}

// Put gives back a connection taken with conn.
func (pl *Pool) Put(c *sql.Conn) {
	c.Close()
	pl.Held.Add(-1)
}

// End gives back a transaction's connection after Commit or Rollback: c from
// begin, nil when the transaction ran on the *sql.DB.
func (pl *Pool) End(c *sql.Conn) {
	if c != nil {
		c.Close()
	}
	pl.Held.Add(-1)
}
