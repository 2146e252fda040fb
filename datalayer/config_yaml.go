package datalayer

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// configKey is one YAML key of the `database` section and the Config field
// it sets. configKeys lists them in the documented order (the CONTRACT's
// keys, then the extensions in config.go order); parsing, MarshalYAML and the
// migration all follow it.
type configKey struct {
	name string
	// field returns a pointer to the field: *string, *int, *bool,
	// *time.Duration or *[]string.
	field func(c *Config) any
}

var configKeys = []configKey{
	{"host", func(c *Config) any { return &c.Host }},
	{"port", func(c *Config) any { return &c.Port }},
	{"database", func(c *Config) any { return &c.Database }},
	{"username", func(c *Config) any { return &c.Username }},
	{"password", func(c *Config) any { return &c.Password }},
	{"pool_size", func(c *Config) any { return &c.PoolSize }},
	{"max_overflow", func(c *Config) any { return &c.MaxOverflow }},
	{"pool_timeout", func(c *Config) any { return &c.PoolTimeout }},
	{"pool_recycle", func(c *Config) any { return &c.PoolRecycle }},
	{"replica_hosts", func(c *Config) any { return &c.ReplicaHosts }},
	{"failover_timeout", func(c *Config) any { return &c.FailoverTimeout }},
	{"health_check_interval", func(c *Config) any { return &c.HealthCheckInterval }},
	{"statement_cache_size", func(c *Config) any { return &c.StatementCacheSize }},
	{"prepared_statement_cache_size", func(c *Config) any { return &c.PreparedStatementCacheSize }},
	{"connection_timeout", func(c *Config) any { return &c.ConnectionTimeout }},
	{"enable_ha", func(c *Config) any { return &c.EnableHA }},
	{"enable_metrics", func(c *Config) any { return &c.EnableMetrics }},
	{"enable_health_checks", func(c *Config) any { return &c.EnableHealthChecks }},
	{"strict_mode", func(c *Config) any { return &c.StrictMode }},
	{"echo", func(c *Config) any { return &c.Echo }},
	{"debug_mode", func(c *Config) any { return &c.DebugMode }},
	// Extensions.
	{"sslmode", func(c *Config) any { return &c.SSLMode }},
	{"application_name", func(c *Config) any { return &c.ApplicationName }},
	{"max_replication_lag", func(c *Config) any { return &c.MaxReplicationLag }},
	{"replica_policy", func(c *Config) any { return &c.ReplicaPolicy }},
	{"fallback_to_primary", func(c *Config) any { return &c.FallbackToPrimary }},
	{"batch_pool_size", func(c *Config) any { return &c.BatchPoolSize }},
	{"batch_size", func(c *Config) any { return &c.BatchSize }},
	{"transactional_pool_size", func(c *Config) any { return &c.TransactionalPoolSize }},
	{"statement_timeout", func(c *Config) any { return &c.StatementTimeout }},
	{"batch_statement_timeout", func(c *Config) any { return &c.BatchStatementTimeout }},
	{"transaction_retries", func(c *Config) any { return &c.TransactionRetries }},
	{"read_your_writes_timeout", func(c *Config) any { return &c.ReadYourWritesTimeout }},
	{"read_your_writes_scope", func(c *Config) any { return &c.ReadYourWritesScope }},
	{"simple_protocol", func(c *Config) any { return &c.SimpleProtocol }},
	{"pgbouncer", func(c *Config) any { return &c.PgBouncer }},
	{"migration_host", func(c *Config) any { return &c.MigrationHost }},
	{"migrations_dir", func(c *Config) any { return &c.MigrationsDir }},
	{"tcp_keepalive", func(c *Config) any { return &c.TCPKeepalive }},
	{"tcp_user_timeout", func(c *Config) any { return &c.TCPUserTimeout }},
	{"discovery", func(c *Config) any { return &c.Discovery }},
	{"discovery_interval", func(c *Config) any { return &c.DiscoveryInterval }},
	{"patroni_urls", func(c *Config) any { return &c.PatroniURLs }},
	{"discovery_dns_name", func(c *Config) any { return &c.DiscoveryDNSName }},
	{"unknown_keys", func(c *Config) any { return &c.UnknownKeys }},
}

// configKeyIndex maps a YAML key to its position in configKeys.
var configKeyIndex = func() map[string]int {
	m := make(map[string]int, len(configKeys))
	for i, k := range configKeys {
		m[k.name] = i
	}
	return m
}()

// rawTag marks a scalar that is taken as written, without ${VAR} expansion:
// `password: !raw "pa${ss"`. MarshalYAML uses it for values containing "${".
const rawTag = "!raw"

// MarshalYAML writes c as a `database:` section with every key in the
// documented order, then the named clusters (each with every key a cluster
// takes), durations as seconds (`30`, `0.1`) and strings quoted
// where YAML needs it; ParseConfig reads it back to an equal Config (except
// Warnings, which are not written, and an empty ReplicaHosts, which comes back
// nil). Values containing "${" are tagged !raw so that they are not expanded
// when read back.
//
// The password is written as it is: redact first (c.Redacted()) when the
// output is for people.
//
// It returns bytes, so it is not yaml.v3's Marshaler: yaml.Marshal(c) does
// not call it.
func (c Config) MarshalYAML() ([]byte, error) {
	section := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range configKeys {
		section.Content = append(section.Content, yamlKey(k.name), yamlValueNode(k.field(&c)))
	}
	if len(c.Clusters) > 0 {
		clusters := &yaml.Node{Kind: yaml.MappingNode}
		for _, name := range c.ClusterNames() {
			cl := c.Clusters[name]
			clusters.Content = append(clusters.Content, yamlKey(name), cl.clusterYAML())
		}
		section.Content = append(section.Content, yamlKey("clusters"), clusters)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{yamlKey("database"), section}}
	return encodeConfigYAML(root)
}

// clusterYAML is the section of a named cluster: every key a cluster
// takes, in the documented order, then its tables.
func (c *Config) clusterYAML() *yaml.Node {
	section := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range configKeys {
		if clusterKeys[k.name] != 0 {
			section.Content = append(section.Content, yamlKey(k.name), yamlValueNode(k.field(c)))
		}
	}
	section.Content = append(section.Content, yamlKey("tables"), yamlValueNode(&c.Tables))
	return section
}

// encodeYAML writes n with a two-space indent.
func encodeConfigYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("unifieddb: writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("unifieddb: writing YAML: %w", err)
	}
	return buf.Bytes(), nil
}

func yamlKey(name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
}

// valueNode is the YAML node of one Config field, given as from configKey.field.
func yamlValueNode(field any) *yaml.Node {
	switch v := field.(type) {
	case *string:
		return yamlStringNode(*v)
	case *int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(*v)}
	case *bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(*v)}
	case *time.Duration:
		s := formatSeconds(*v)
		tag := "!!int"
		if strings.Contains(s, ".") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s, LineComment: "# seconds"}
	case *[]string:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if len(*v) == 0 {
			seq.Style = yaml.FlowStyle
		}
		for _, s := range *v {
			seq.Content = append(seq.Content, yamlStringNode(s))
		}
		return seq
	}
	panic(fmt.Sprintf("datalayer: configKeys: unsupported field type %T", field))
}

// stringNode is a string scalar, tagged !raw when reading it back would
// otherwise expand a ${VAR} in it.
func yamlStringNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "${") {
		n.Tag = rawTag
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// formatSeconds writes d as exact decimal seconds: 30, 0.1, 1.000000001.
func formatSeconds(d time.Duration) string {
	sign := ""
	u := uint64(d)
	if d < 0 {
		sign = "-"
		u = uint64(-(d + 1)) + 1 // no overflow for math.MinInt64
	}
	s := sign + strconv.FormatUint(u/1e9, 10)
	if ns := u % 1e9; ns != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	}
	return s
}

var decimalSeconds = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?$`)

// parseSeconds reads a duration: seconds as a number (`30`, `5.0`, `0.5`,
// `1e3`) or a Go duration string (`30s`, `1m30s`). Decimal numbers are
// converted exactly, to the nanosecond.
func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	errSyntax := fmt.Errorf("must be seconds (e.g. 30 or 0.5) or a duration (e.g. 30s or 1m30s)")
	if m := decimalSeconds.FindStringSubmatch(s); m != nil && m[2]+m[3] != "" {
		frac := m[3]
		var ns uint64
		if len(frac) > 9 {
			round := frac[9] >= '5'
			frac = frac[:9]
			n, _ := strconv.ParseUint(frac, 10, 64)
			if round {
				n++
			}
			ns = n
		} else if frac != "" {
			n, _ := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			ns = n
		}
		var sec uint64
		if m[2] != "" {
			var err error
			if sec, err = strconv.ParseUint(m[2], 10, 64); err != nil {
				return 0, fmt.Errorf("is too large")
			}
		}
		limit := uint64(math.MaxInt64)
		if m[1] == "-" {
			limit++
		}
		if sec > limit/1e9 || sec*1e9 > limit-ns {
			return 0, fmt.Errorf("is too large")
		}
		total := sec*1e9 + ns
		if m[1] == "-" {
			return time.Duration(-int64(total-1) - 1), nil
		}
		return time.Duration(total), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("must be a finite number of seconds")
		}
		ns := math.Round(f * 1e9)
		if ns >= math.MaxInt64 || ns < math.MinInt64 {
			return 0, fmt.Errorf("is too large")
		}
		return time.Duration(ns), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errSyntax
	}
	return d, nil
}

// parseInteger reads a decimal integer such as 10, +10 or -1.
func parseInteger(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 0)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("is too large")
		}
		return 0, fmt.Errorf("must be an integer")
	}
	return int(n), nil
}

// parseBoolean reads true/false; yes/no and on/off are accepted too, as the
// legacy (YAML 1.1) files use them.
func parseBoolean(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false")
}

// resolveAlias follows YAML aliases (*name) to the node they refer to.
func resolveYAMLAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is a YAML null (`~`, `null` or nothing).
func isYAMLNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag != rawTag && n.ShortTag() == "!!null"
}

// kindName names a node kind for messages.
func yamlKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isYAMLNull(n) {
			return "empty"
		}
		return "a single value"
	}
	return "not a value"
}

// passwordLine matches a line that sets a password key, capturing its value.
var passwordLine = regexp.MustCompile(`(?im)^[\s\-?{,]*["']?[a-z_]*pass(?:word)?[a-z_]*["']?\s*:(.*)$`)

// secretsInText returns the values of password lines of a YAML text that
// could not be parsed, in the forms a parser message may quote them, so that
// they can be removed from the message.
func secretsInText(data []byte) []string {
	var out []string
	for _, m := range passwordLine.FindAllSubmatch(data, -1) {
		v := withoutYAMLComment(strings.TrimSpace(string(m[1])))
		out = append(out, v, strings.Trim(v, `"'&*!|>{}[], `))
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// withoutYAMLComment is the value v of a line without its trailing comment:
// the words of a comment (often the variable's name, as in
// `password: ${DB_PASSWORD} # DB_PASSWORD must be set`) are not secrets, and
// taking them as such would redact them from every message. A quoted value
// ends at its closing quote; a plain one at the first "#" after a blank, as
// YAML reads them. An unclosed quote keeps the whole text.
func withoutYAMLComment(v string) string {
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		for i := 1; i < len(v); i++ {
			switch {
			case v[0] == '"' && v[i] == '\\':
				i++
			case v[i] == v[0] && v[0] == '\'' && i+1 < len(v) && v[i+1] == '\'':
				i++
			case v[i] == v[0]:
				return v[:i+1]
			}
		}
		return v
	}
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}

// secretRedactor replaces every secret of at least 3 bytes by "***", in one
// pass over a text however many secrets there are. Longest first, so that a
// secret containing another is replaced whole.
func secretRedactor(secrets []string) *strings.Replacer {
	seen := make(map[string]bool, len(secrets))
	var long []string
	for _, s := range secrets {
		if len(s) >= 3 && !seen[s] {
			seen[s] = true
			long = append(long, s)
		}
	}
	sort.SliceStable(long, func(i, j int) bool { return len(long[i]) > len(long[j]) })
	pairs := make([]string, 0, 2*len(long))
	for _, s := range long {
		pairs = append(pairs, s, "***")
	}
	return strings.NewReplacer(pairs...)
}

// redactSecrets replaces every secret of at least 3 bytes in s by "***".
func redactSecrets(s string, secrets []string) string {
	return secretRedactor(secrets).Replace(s)
}

// yamlProblem is the message of a YAML syntax error, without secrets.
func yamlProblem(err error, data []byte) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return "invalid YAML: " + redactSecrets(msg, secretsInText(data))
}

// quoteValue quotes a (non-secret) value for a message, shortened.
func quoteConfigValue(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
