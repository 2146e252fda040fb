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
		quoteIfNeeded(c.Discovery)) + c.clustersString()
}

// clustersString is the part of String about the named clusters: their
// nodes, database, user and tables, the password as "***".
func (c Config) clustersString() string {
	var b strings.Builder
	for _, name := range c.ClusterNames() {
		cl := c.Clusters[name]
		pw := `""`
		if cl.Password != "" {
			pw = "***"
		}
		fmt.Fprintf(&b, " clusters.%s={host=%s port=%d database=%s username=%s password=%s replica_hosts=[%s] "+
			"discovery=%s tables=[%s]}", quoteIfNeeded(name), quoteIfNeeded(cl.Host), cl.Port, quoteIfNeeded(cl.Database),
			quoteIfNeeded(cl.Username), pw, strings.Join(cl.ReplicaHosts, " "), quoteIfNeeded(cl.Discovery),
			strings.Join(cl.Tables, " "))
	}
	return b.String()
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

// Redacted returns a copy of c with Password "***" when it is set, in c
// and in each of its clusters, for printing. Its slices and map are copies
// too.
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
	if c.Tables != nil {
		c.Tables = append([]string(nil), c.Tables...)
	}
	if c.Clusters != nil {
		clusters := make(map[string]Config, len(c.Clusters))
		for name, cl := range c.Clusters {
			clusters[name] = cl.Redacted()
		}
		c.Clusters = clusters
	}
	return c
}
