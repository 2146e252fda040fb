package cluster

import "database/sql"

// The pool_timeout bound needs to know, before each statement, whether the
// pool is exhausted (a caller would queue in database/sql, which waits
// without a bound): then the statement takes its connection through conn,
// which waits at most pool_timeout. sql.DB.Stats would say, but it takes the
// *sql.DB's mutex on every statement, the very lock every statement already
// contends on to get its connection. So the pool counts, in held, the
// connections the plugin itself holds: a statement while it runs, a
// transaction until Commit or Rollback, a connection of conn until put.
// Loading it is one atomic read.
//
// The count can be off both ways, and full is a hint either way (another
// caller may take the last free connection right after any check):
//   - too high, when database/sql ends a transaction on its own (its context
//     ended before Commit or Rollback reached the plugin): full then asks
//     Stats, so a wrong count costs a Stats call, never a wrong answer;
//   - too low, for connections the plugin does not see held: rows still
//     being read after the query returned, db.Connection, the *sql.DB used
//     directly. A statement arriving then queues in database/sql until a
//     connection frees or its context ends, as with plain GORM.

// Full reports whether every connection the pool may open is in use, so a
// caller would queue.
func (pl *Pool) Full() bool {
	if pl.Max <= 0 || pl.Held.Load() < pl.Max {
		return false
	}
	// Rare: only on an exhausted pool (or a count left too high).
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
