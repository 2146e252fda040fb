package datalayer

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// String is a one-line summary for people. The password is shown as "***"
// when set and "" when empty; it is never printed.
func (c Config) String() string {
	pw := `""`
	if c.Password != "" {
		pw = "***"
	}
	return fmt.Sprintf("host=%s port=%d database=%s username=%s password=%s replica_hosts=[%s] "+
		"pool_size=%d max_overflow=%d pool_timeout=%s enable_ha=%t enable_health_checks=%t "+
		"strict_mode=%t sslmode=%s replica_policy=%s discovery=%s",
		quoteIfNeeded(c.Host), c.Port, quoteIfNeeded(c.Database), quoteIfNeeded(c.Username), pw,
		strings.Join(c.ReplicaHosts, " "), c.PoolSize, c.MaxOverflow, c.PoolTimeout, c.EnableHA,
		c.EnableHealthChecks, c.StrictMode, quoteIfNeeded(c.SSLMode), quoteIfNeeded(c.ReplicaPolicy),
		quoteIfNeeded(c.Discovery))
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") || !strconv.CanBackquote(s) {
		return strconv.Quote(s)
	}
	return s
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string {
	type plain Config // no methods: no recursion
	return strings.Replace(fmt.Sprintf("%#v", plain(c.Redacted())), "plain{", "Config{", 1)
}

// LogValue makes slog print the summary of String, without the password.
func (c Config) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// Redacted returns a copy of c with Password "***" when it is set, for
// printing. Its slices are copies too.
func (c Config) Redacted() Config {
	if c.Password != "" {
		c.Password = "***"
	}
	if c.ReplicaHosts != nil {
		c.ReplicaHosts = append([]string(nil), c.ReplicaHosts...)
	}
	if c.PatroniURLs != nil {
		c.PatroniURLs = redactedURLs(c.PatroniURLs)
	}
	if c.Warnings != nil {
		c.Warnings = append([]string(nil), c.Warnings...)
	}
	return c
}
