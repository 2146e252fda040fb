package plugin

import (
	"context"
	"log/slog"
)

// echoHook logs every attempt with its node, mode, pool and duration: the
// echo option. Arguments are never logged (they may be secrets), and the
// error, when there is one, has the node's password redacted.
type echoHook struct{ log *slog.Logger }

func (h echoHook) Statement(_ context.Context, s Statement) {
	if s.Err != nil {
		h.log.Info("unifieddb: sql", "node", s.Node, "mode", s.Mode.String(), "pool", s.Pool, "duration", s.Duration, "sql", s.Query, "error", s.node.Redact(s.Err.Error()))
		return
	}
	h.log.Info("unifieddb: sql", "node", s.Node, "mode", s.Mode.String(), "pool", s.Pool, "duration", s.Duration, "sql", s.Query)
}
