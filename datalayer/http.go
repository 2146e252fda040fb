package datalayer

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ReadinessHandler serves m's HealthReport as JSON: 200 when the cluster is
// healthy or degraded, 503 when it is unhealthy or the Manager is closed.
// By default it reads the latest health snapshot (no query is sent);
// `?fresh=1` (or true) probes every node first, bounded by
// connection_timeout. Only GET and HEAD are allowed.
func ReadinessHandler(m *Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowGet(w, r) {
			return
		}
		var opts []HealthOption
		ctx := r.Context()
		switch r.URL.Query().Get("fresh") {
		case "", "0", "false":
		default:
			opts = append(opts, Fresh())
			var cancel context.CancelFunc
			// A probe of a node that does not answer ends after
			// connection_timeout; leave room to build the report.
			ctx, cancel = context.WithTimeout(ctx, m.cfg.ConnectionTimeout+time.Second)
			defer cancel()
		}
		rep, err := m.HealthCheck(ctx, opts...)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"status": StatusUnhealthy,
				"error":  redactSecrets(err.Error(), m.cfg.Passwords()),
			})
			return
		}
		code := http.StatusOK
		if rep.Status == StatusUnhealthy {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rep)
	})
}

// LivenessHandler answers 200 {"status":"alive"} while m is open and 503
// {"status":"closed"} after Close. It does not look at the database: a
// cluster outage makes the process unready, not dead.
func LivenessHandler(m *Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowGet(w, r) {
			return
		}
		if m.isClosed() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "closed", "error": ErrClosed.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
}

func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"encoding the report failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}
