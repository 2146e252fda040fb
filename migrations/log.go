package migrations

import (
	"context"
	"log/slog"
)

// demote lowers goose's chatty records to DEBUG: goose logs every statement it runs, and "no
// migrations to run" on every start, at INFO. The record of each migration applied stays INFO.
type demote struct{ h slog.Handler }

// Enabled says yes when the record might pass at its own level or at DEBUG; Handle decides.
func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, l) || d.h.Enabled(ctx, slog.LevelDebug)
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && chatty(r) {
		r.Level = slog.LevelDebug
	}
	if !d.h.Enabled(ctx, r.Level) {
		return nil
	}
	return d.h.Handle(ctx, r)
}

func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.h.WithAttrs(as)} }
func (d demote) WithGroup(name string) slog.Handler    { return demote{d.h.WithGroup(name)} }

// chatty reports a record of one statement (it carries the statement) or of nothing to do.
func chatty(r slog.Record) bool {
	if r.Message == "no migrations to run" {
		return true
	}
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == "statement"
		return !found
	})
	return found
}
