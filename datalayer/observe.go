package datalayer

import "github.com/prompt-improver/unifieddb/plugin"

// WithStatementHook adds h to the hooks that see every statement attempt
// (node, mode, pool, duration, error, attempt number, whether the outcome is
// known), after the Manager's own metrics and echo. It runs on the caller's
// goroutine: keep it short. It may be given more than once.
func WithStatementHook(h plugin.StatementHook) Option {
	return func(o *options) {
		if h != nil {
			o.stmtHooks = append(o.stmtHooks, h)
		}
	}
}
