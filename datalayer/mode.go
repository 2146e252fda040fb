package datalayer

import (
	"context"

	"github.com/prompt-improver/unifieddb/plugin"
)

// Mode says where a statement goes; it is a GORM clause expression:
// db.Clauses(datalayer.ReadOnly).Find(&users). See the README's modes table.
type Mode = plugin.Mode

const (
	// Auto (the zero value): model reads to a healthy replica, writes, raw SQL
	// and transactions to the primary.
	Auto = plugin.Auto
	// ReadOnly: replicas (the primary as fallback) over read-only sessions;
	// writes fail with ErrReadOnly before they are sent.
	ReadOnly = plugin.ReadOnly
	// ReadWrite: the primary, reads and writes.
	ReadWrite = plugin.ReadWrite
	// Batch: the primary, through its own pool and statement timeout.
	Batch = plugin.Batch
	// Transactional: the primary, through its own pool; used by Transaction.
	Transactional = plugin.Transactional
)

// ParseMode reads auto, read_only, read_write, batch or transactional, and the
// legacy names mcp, ml, readonly and admin.
func ParseMode(s string) (Mode, error) { return plugin.ParseMode(s) }

// WithReadYourWrites returns a context with which every Auto read sees every
// write made with it: after a write, reads go only to replicas that have
// replayed it (waiting up to read_your_writes_timeout), else to the primary.
func WithReadYourWrites(ctx context.Context) context.Context {
	return plugin.WithReadYourWrites(ctx)
}

// MarkWritten tells read-your-writes that ctx made a write the Manager did not
// see (COPY on a raw connection, say).
func MarkWritten(ctx context.Context) { plugin.MarkWritten(ctx) }
