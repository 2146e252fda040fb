package datalayer

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxConfigPoolConns bounds every pool size: PostgreSQL's own limit on
// max_connections. It also keeps PoolSize+MaxOverflow far from overflowing
// pgx's int32 MaxConns.
const maxConfigPoolConns = 262143

// configSSLModes are libpq's sslmode values.
var configSSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// configReplicaPolicies are the values of replica_policy.
var configReplicaPolicies = []string{"round_robin", "random", "least_latency"}

// Values of read_your_writes_scope.
const (
	ReadYourWritesContext  = "context"
	ReadYourWritesInstance = "instance"
)

var configRYWScopes = []string{ReadYourWritesContext, ReadYourWritesInstance}

// Validate checks every field and returns nil or one *ConfigError that
// names every bad field by its YAML key (replica entries as
// "replica_hosts[i]", a cluster's keys as "clusters.NAME.pool_size"). It
// never includes a password.
func (c Config) Validate() error {
	err := c.validateOne()
	errs := c.clusterProblems()
	if err == nil && len(errs) == 0 {
		return nil
	}
	if err != nil {
		errs = append(err.(*ConfigError).Fields, errs...)
	}
	redact := secretRedactor(c.Passwords())
	for i := range errs {
		errs[i].Problem = redact.Replace(errs[i].Problem)
	}
	return &ConfigError{Fields: errs}
}

// validateOne checks the keys of one cluster, without its Tables and
// Clusters.
func (c Config) validateOne() error {
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}

	if problem := hostProblem(c.Host); problem != "" {
		bad("host", "%s", problem)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "must be between 1 and 65535, got %d", c.Port)
	}
	if c.Database == "" {
		bad("database", "is required (the database name)")
	}

	positiveInts := []struct {
		key string
		v   int
	}{
		{"pool_size", c.PoolSize},
		{"batch_pool_size", c.BatchPoolSize},
		{"transactional_pool_size", c.TransactionalPoolSize},
	}
	for _, f := range positiveInts {
		switch {
		case f.v <= 0:
			bad(f.key, "must be greater than 0, got %d", f.v)
		case f.v > maxConfigPoolConns:
			bad(f.key, "must be at most %d (PostgreSQL's limit on connections), got %d", maxConfigPoolConns, f.v)
		}
	}
	switch {
	case c.MaxOverflow < 0:
		bad("max_overflow", "must be 0 or more, got %d", c.MaxOverflow)
	case c.MaxOverflow > maxConfigPoolConns:
		bad("max_overflow", "must be at most %d (PostgreSQL's limit on connections), got %d", maxConfigPoolConns, c.MaxOverflow)
	}
	if c.BatchSize <= 0 {
		bad("batch_size", "must be greater than 0, got %d", c.BatchSize)
	}
	for _, f := range []struct {
		key string
		v   int
	}{
		{"statement_cache_size", c.StatementCacheSize},
		{"prepared_statement_cache_size", c.PreparedStatementCacheSize},
		{"transaction_retries", c.TransactionRetries},
	} {
		if f.v < 0 {
			bad(f.key, "must be 0 or more, got %d", f.v)
		}
	}

	for _, f := range []struct {
		key string
		v   time.Duration
	}{
		{"pool_timeout", c.PoolTimeout},
		{"failover_timeout", c.FailoverTimeout},
		{"health_check_interval", c.HealthCheckInterval},
		{"connection_timeout", c.ConnectionTimeout},
		{"discovery_interval", c.DiscoveryInterval},
	} {
		if f.v <= 0 {
			bad(f.key, "must be greater than 0, got %s", f.v)
		}
	}
	for _, f := range []struct {
		key string
		v   time.Duration
	}{
		{"pool_recycle", c.PoolRecycle},
		{"max_replication_lag", c.MaxReplicationLag},
		{"statement_timeout", c.StatementTimeout},
		{"batch_statement_timeout", c.BatchStatementTimeout},
		{"read_your_writes_timeout", c.ReadYourWritesTimeout},
		{"tcp_keepalive", c.TCPKeepalive},
		{"tcp_user_timeout", c.TCPUserTimeout},
	} {
		if f.v < 0 {
			bad(f.key, "must be 0 or more, got %s", f.v)
		}
	}

	if !slices.Contains(configSSLModes, c.SSLMode) {
		bad("sslmode", "must be one of %s, got %s", strings.Join(configSSLModes, ", "), quoteConfigValue(c.SSLMode))
	}
	if !slices.Contains(configReplicaPolicies, c.ReplicaPolicy) {
		bad("replica_policy", "must be one of %s, got %s", strings.Join(configReplicaPolicies, ", "), quoteConfigValue(c.ReplicaPolicy))
	}
	switch c.UnknownKeys {
	case "", UnknownKeysError, UnknownKeysWarn:
	default:
		bad("unknown_keys", "must be %s or %s, got %s", UnknownKeysError, UnknownKeysWarn, quoteConfigValue(c.UnknownKeys))
	}

	if !slices.Contains(configRYWScopes, c.ReadYourWritesScope) {
		bad("read_your_writes_scope", "must be one of %s, got %s", strings.Join(configRYWScopes, ", "), quoteConfigValue(c.ReadYourWritesScope))
	}

	if c.PgBouncer && c.StatementTimeout > 0 {
		bad("statement_timeout", "must be 0 with pgbouncer: PgBouncer refuses it at connection start (08P01); "+
			"set it on the role (ALTER ROLE ... SET statement_timeout) or as PgBouncer's query_timeout")
	}
	if c.MigrationHost != "" {
		if _, problem := parseHostPort(c.MigrationHost, c.Port); problem != "" {
			bad("migration_host", "%s", problem)
		}
	}

	if c.MigrationsDir != "" {
		if problem := dirProblem(c.MigrationsDir); problem != "" {
			bad("migrations_dir", "%s", problem)
		}
	}

	primary := HostPort{}
	if hostProblem(c.Host) == "" && c.Port >= 1 && c.Port <= 65535 {
		primary = HostPort{Host: strings.Trim(c.Host, "[]"), Port: c.Port}
	}
	seen := map[string]int{}
	for i, entry := range c.ReplicaHosts {
		field := "replica_hosts[" + strconv.Itoa(i) + "]"
		hp, problem := parseHostPort(entry, c.Port)
		if problem != "" {
			bad(field, "%s", problem)
			continue
		}
		key := hp.key()
		if primary.Host != "" && key == primary.key() {
			bad(field, "%s is a duplicate of host and port", hp)
			continue
		}
		if j, dup := seen[key]; dup {
			bad(field, "%s is a duplicate of replica_hosts[%d]", hp, j)
			continue
		}
		seen[key] = i
	}

	errs = append(errs, c.discoveryProblems()...)

	if len(errs) == 0 {
		return nil
	}
	redact := secretRedactor([]string{c.Password})
	for i := range errs {
		errs[i].Problem = redact.Replace(errs[i].Problem)
	}
	return &ConfigError{Fields: errs}
}

// HostPort is one node's address.
type HostPort struct {
	Host string
	Port int
}

// String is "host:port", with IPv6 hosts in brackets.
func (h HostPort) String() string {
	return net.JoinHostPort(h.Host, strconv.Itoa(h.Port))
}

// key compares addresses: host names case-insensitively, IP addresses by value.
func (h HostPort) key() string {
	host := strings.ToLower(h.Host)
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	}
	return host + "/" + strconv.Itoa(h.Port)
}

// ReplicaAddrs parses ReplicaHosts, filling in Port where an entry has none.
// A malformed entry is a *ConfigError naming it ("replica_hosts[i]").
func (c Config) ReplicaAddrs() ([]HostPort, error) {
	addrs := make([]HostPort, 0, len(c.ReplicaHosts))
	var errs []FieldError
	for i, entry := range c.ReplicaHosts {
		hp, problem := parseHostPort(entry, c.Port)
		if problem != "" {
			errs = append(errs, FieldError{Field: "replica_hosts[" + strconv.Itoa(i) + "]", Problem: problem})
			continue
		}
		addrs = append(addrs, hp)
	}
	if len(errs) > 0 {
		return nil, &ConfigError{Fields: errs}
	}
	return addrs, nil
}

// Nodes returns every node: Host:Port first, then the replicas with their
// default ports filled in. Malformed and duplicate entries are left out (a
// validated Config has none).
func (c Config) Nodes() []HostPort {
	nodes := []HostPort{{Host: strings.Trim(c.Host, "[]"), Port: c.Port}}
	seen := map[string]bool{nodes[0].key(): true}
	for _, entry := range c.ReplicaHosts {
		hp, problem := parseHostPort(entry, c.Port)
		if problem != "" || seen[hp.key()] {
			continue
		}
		seen[hp.key()] = true
		nodes = append(nodes, hp)
	}
	return nodes
}

// parseHostPort reads "host", "host:port", "[ipv6]" or "[ipv6]:port". It
// returns a problem for people when the entry is malformed.
func parseHostPort(entry string, defaultPort int) (HostPort, string) {
	switch {
	case entry == "":
		return HostPort{}, "is empty"
	case strings.IndexFunc(entry, isSpaceOrControlRune) >= 0:
		return HostPort{}, fmt.Sprintf("%s must not contain spaces", quoteConfigValue(entry))
	}
	host, port := entry, ""
	if strings.HasPrefix(entry, "[") {
		end := strings.IndexByte(entry, ']')
		if end < 0 {
			return HostPort{}, fmt.Sprintf("%s has no closing ']'", quoteConfigValue(entry))
		}
		host = entry[1:end]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return HostPort{}, fmt.Sprintf("%s: only an IPv6 address may be written in brackets", quoteConfigValue(entry))
		}
		rest := entry[end+1:]
		switch {
		case rest == "":
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
			if port == "" {
				return HostPort{}, fmt.Sprintf("%s has no port after ':'", quoteConfigValue(entry))
			}
		default:
			return HostPort{}, fmt.Sprintf("%s has text after ']' that is not :port", quoteConfigValue(entry))
		}
	} else {
		switch strings.Count(entry, ":") {
		case 0:
		case 1:
			host, port, _ = strings.Cut(entry, ":")
			if host == "" {
				return HostPort{}, fmt.Sprintf("%s has no host before ':'", quoteConfigValue(entry))
			}
			if port == "" {
				return HostPort{}, fmt.Sprintf("%s has no port after ':'", quoteConfigValue(entry))
			}
		default:
			return HostPort{}, fmt.Sprintf("%s has too many ':'; write an IPv6 address in brackets, e.g. [::1]:5433", quoteConfigValue(entry))
		}
		if !validConfigHostName(host) {
			return HostPort{}, fmt.Sprintf("%s is not a valid host name", quoteConfigValue(entry))
		}
	}
	p := defaultPort
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || strings.TrimLeft(port, "0123456789") != "" {
			return HostPort{}, fmt.Sprintf("%s: the port must be a number", quoteConfigValue(entry))
		}
		if n < 1 || n > 65535 {
			return HostPort{}, fmt.Sprintf("%s: the port must be between 1 and 65535", quoteConfigValue(entry))
		}
		p = n
	}
	return HostPort{Host: host, Port: p}, ""
}

// checkHost returns the problem of the host key, or "". Host may be a host
// name, an IP address (IPv6 with or without brackets) or the directory of a
// Unix socket (starting with /).
func hostProblem(host string) string {
	switch {
	case host == "":
		return "is required"
	case strings.IndexFunc(host, isSpaceOrControlRune) >= 0:
		return "must not contain spaces"
	case strings.HasPrefix(host, "/"):
		return ""
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && a.Is6() {
		return ""
	}
	if strings.Contains(host, ":") {
		return fmt.Sprintf("%s must not include a port: set port (IPv6 addresses may be written as [::1])", quoteConfigValue(host))
	}
	if !validConfigHostName(host) {
		return fmt.Sprintf("%s is not a valid host name", quoteConfigValue(host))
	}
	return ""
}

// validHostName accepts names and IPv4 addresses: letters, digits, '.', '-'
// and '_', not starting with '.' or '-'.
func validConfigHostName(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isSpaceOrControlRune(r rune) bool {
	return r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029
}

// dirProblem says why dir is not a directory the process can read, or "".
func dirProblem(dir string) string {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("directory %s does not exist (relative paths start at the working directory)", quoteConfigValue(dir))
	case err != nil:
		return fmt.Sprintf("cannot read %s: %v", quoteConfigValue(dir), errors.Unwrap(err))
	case !st.IsDir():
		return fmt.Sprintf("%s is not a directory", quoteConfigValue(dir))
	}
	return ""
}
