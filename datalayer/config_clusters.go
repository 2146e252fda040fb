package datalayer

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultCluster is the name of the cluster the top-level keys describe. It
// is reserved: no entry of `clusters` may have it.
const DefaultCluster = "default"

// clusterScope says how a key of the `database` section behaves inside a
// `clusters.NAME` section.
type clusterScope int

const (
	// clusterInherit: settable per cluster; left out, the top-level value.
	clusterInherit clusterScope = iota + 1
	// clusterOwn: settable per cluster; left out, the default (DefaultConfig),
	// never the top-level value: a cluster's nodes, its migrations and its
	// tables are its own, and inheriting the default cluster's would send
	// its statements to the wrong servers.
	clusterOwn
)

// clusterKeys are the keys a `clusters.NAME` section accepts, besides
// `tables`. A key of configKeys missing here (logging, unknown_keys,
// strict_mode, metrics, application-level keys such as
// read_your_writes_scope and transaction_retries) belongs to the whole
// configuration: inside a cluster it is an unknown key, and a cluster's
// Config holds the top-level value.
var clusterKeys = map[string]clusterScope{
	"host":                          clusterOwn,
	"port":                          clusterOwn,
	"database":                      clusterInherit,
	"username":                      clusterInherit,
	"password":                      clusterInherit,
	"pool_size":                     clusterInherit,
	"max_overflow":                  clusterInherit,
	"pool_timeout":                  clusterInherit,
	"pool_recycle":                  clusterInherit,
	"replica_hosts":                 clusterOwn,
	"failover_timeout":              clusterInherit,
	"health_check_interval":         clusterInherit,
	"statement_cache_size":          clusterInherit,
	"prepared_statement_cache_size": clusterInherit,
	"connection_timeout":            clusterInherit,
	"enable_ha":                     clusterInherit,
	"enable_health_checks":          clusterInherit,
	"sslmode":                       clusterInherit,
	"application_name":              clusterInherit,
	"max_replication_lag":           clusterInherit,
	"replica_policy":                clusterInherit,
	"fallback_to_primary":           clusterInherit,
	"batch_pool_size":               clusterInherit,
	"batch_size":                    clusterInherit,
	"transactional_pool_size":       clusterInherit,
	"statement_timeout":             clusterInherit,
	"batch_statement_timeout":       clusterInherit,
	"read_your_writes_timeout":      clusterInherit,
	"simple_protocol":               clusterInherit,
	"pgbouncer":                     clusterInherit,
	"migration_host":                clusterOwn,
	"migrations_dir":                clusterOwn,
	"tcp_keepalive":                 clusterInherit,
	"tcp_user_timeout":              clusterInherit,
	"discovery":                     clusterOwn,
	"discovery_interval":            clusterInherit,
	"patroni_urls":                  clusterOwn,
	"discovery_dns_name":            clusterOwn,
}

// clusterNamePattern is what a cluster's name looks like: it appears in
// metric labels, trace attributes and OnCluster calls.
var clusterNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// maxClusterNameLen keeps names readable in labels and messages.
const maxClusterNameLen = 63

// clusterNameProblem says what is wrong with a cluster's name, or "".
func clusterNameProblem(name string) string {
	switch {
	case name == DefaultCluster:
		return fmt.Sprintf("the name %q is reserved for the cluster of the top-level keys", DefaultCluster)
	case len(name) > maxClusterNameLen || !clusterNamePattern.MatchString(name):
		return fmt.Sprintf("cluster name %s must be lowercase letters, digits and _, starting with a letter (at most %d)",
			quoteConfigValue(name), maxClusterNameLen)
	}
	return ""
}

// tableNamePattern is a table name, optionally schema-qualified, as GORM
// writes it unquoted (orders, order_items, audit.events).
var tableNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)

// ClusterBase is where the section of a named cluster starts from: c's
// values for the keys a cluster inherits, and DefaultConfig's for those it
// must give itself (host, port, replica_hosts, discovery, patroni_urls,
// discovery_dns_name, migration_host, migrations_dir), no tables and no
// clusters. LoadConfig and ParseConfig apply a `clusters.NAME` section on
// top of it; code building a Config by hand can do the same:
//
//	events := cfg.ClusterBase()
//	events.Host, events.Tables = "events-db", []string{"events"}
//	cfg.Clusters = map[string]datalayer.Config{"events": events}
func (c Config) ClusterBase() Config {
	base := c
	def := DefaultConfig()
	for _, k := range configKeys {
		if clusterKeys[k.name] == clusterOwn {
			copyConfigField(k.field(&base), k.field(&def))
		}
	}
	base.ReplicaHosts = nil
	base.PatroniURLs = nil
	base.Tables = nil
	base.Clusters = nil
	base.Warnings = nil
	return base
}

// copyConfigField sets *dst to *src for two pointers of one configKey.field.
func copyConfigField(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *int:
		*d = *src.(*int)
	case *bool:
		*d = *src.(*bool)
	case *time.Duration:
		*d = *src.(*time.Duration)
	case *[]string:
		*d = slices.Clone(*src.(*[]string))
	default:
		panic(fmt.Sprintf("datalayer: configKeys: unsupported field type %T", dst))
	}
}

// ClusterNames are the names of the named clusters, sorted; DefaultCluster
// is not among them.
func (c Config) ClusterNames() []string {
	names := make([]string, 0, len(c.Clusters))
	for name := range c.Clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// PlacementTables maps every table of a `clusters.NAME.tables` list to NAME.
// Tables not in it are on DefaultCluster. A validated Config places no
// table twice; if c is not validated, the first cluster by name wins.
func (c Config) PlacementTables() map[string]string {
	out := map[string]string{}
	for _, name := range c.ClusterNames() {
		for _, table := range c.Clusters[name].Tables {
			if _, dup := out[table]; !dup {
				out[table] = name
			}
		}
	}
	return out
}

// Passwords are the non-empty passwords of the default cluster and of every
// named cluster: what an output filter must hide.
func (c Config) Passwords() []string {
	var out []string
	if c.Password != "" {
		out = append(out, c.Password)
	}
	for _, name := range c.ClusterNames() {
		if pw := c.Clusters[name].Password; pw != "" && !slices.Contains(out, pw) {
			out = append(out, pw)
		}
	}
	return out
}

// clusterProblems checks what only the top level has: `tables` outside a
// cluster, the names of the clusters, each cluster as a Config (its findings
// prefixed "clusters.NAME."), and a table placed on two clusters.
func (c Config) clusterProblems() []FieldError {
	var errs []FieldError
	if len(c.Tables) > 0 {
		errs = append(errs, FieldError{Field: "tables", Problem: "is only valid inside a cluster (clusters.NAME.tables): " +
			"the tables of no cluster are on the default one"})
	}
	placed := map[string]string{} // table -> cluster
	for _, name := range c.ClusterNames() {
		if problem := clusterNameProblem(name); problem != "" {
			field := "clusters." + name
			if name != DefaultCluster {
				field = "clusters"
			}
			errs = append(errs, FieldError{Field: field, Problem: problem})
			continue
		}
		cl := c.Clusters[name]
		prefix := "clusters." + name + "."
		if len(cl.Clusters) > 0 {
			errs = append(errs, FieldError{Field: prefix + "clusters", Problem: "clusters do not nest: declare every cluster under the top-level clusters"})
		}
		if err := cl.validateOne(); err != nil {
			for _, f := range err.(*ConfigError).Fields {
				// A key of the whole configuration counts at the top level
				// only (checked there), whatever a cluster's copy holds.
				if clusterKeys[configBaseField(f.Field)] == 0 {
					continue
				}
				f.Field = prefix + f.Field
				errs = append(errs, f)
			}
		}
		seen := map[string]int{}
		for i, table := range cl.Tables {
			field := prefix + "tables[" + strconv.Itoa(i) + "]"
			if table == "" {
				errs = append(errs, FieldError{Field: field, Problem: "is empty"})
				continue
			}
			if !tableNamePattern.MatchString(table) {
				errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(
					"%s is not a table name (letters, digits, _ and $, optionally schema.table)", quoteConfigValue(table))})
				continue
			}
			if j, dup := seen[table]; dup {
				errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf("%q is a duplicate of tables[%d]", table, j)})
				continue
			}
			seen[table] = i
			if other, dup := placed[table]; dup {
				errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(
					"table %q is placed on two clusters, %s and %s: a table lives on one cluster", table, other, name)})
				continue
			}
			placed[table] = name
		}
	}
	return errs
}

// parseClusters reads the mapping under `clusters`, once the top-level keys
// are known (a cluster inherits them, wherever `clusters` is in the file).
func (p *configParser) parseClusters(n *yaml.Node) {
	if n == nil || isYAMLNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.fail("clusters", "must be a mapping of cluster names to sections, not "+yamlKindName(n))
		return
	}
	seen := map[string]int{}
	for _, kv := range mappingPairs(n) {
		k, v := kv[0], resolveYAMLAlias(kv[1])
		if k.Kind != yaml.ScalarNode {
			p.fail("clusters", fmt.Sprintf("a cluster name must be a single value, not %s (line %d)", yamlKindName(k), k.Line))
			continue
		}
		name := k.Value
		if problem := clusterNameProblem(name); problem != "" {
			field := "clusters"
			if name == DefaultCluster {
				field = "clusters." + name
			}
			p.fail(field, problem)
			continue
		}
		if line, dup := seen[name]; dup {
			p.fail("clusters."+name, fmt.Sprintf("appears more than once (lines %d and %d)", line, k.Line))
			continue
		}
		seen[name] = k.Line
		p.parseCluster(name, v)
	}
}

// parseCluster reads one `clusters.NAME` section on top of ClusterBase.
func (p *configParser) parseCluster(name string, n *yaml.Node) {
	prefix := "clusters." + name + "."
	cl := p.cfg.ClusterBase()
	set := map[string]bool{}
	switch {
	case n == nil || isYAMLNull(n):
	case n.Kind != yaml.MappingNode:
		p.fail("clusters."+name, "must be a mapping of keys, not "+yamlKindName(n))
		return
	default:
		seen := map[string]int{}
		for _, kv := range mappingPairs(n) {
			k, v := kv[0], kv[1]
			if k.Kind != yaml.ScalarNode {
				p.unknown = append(p.unknown, unknownKey{prefix: prefix, name: fmt.Sprintf("(%s at line %d)", yamlKindName(k), k.Line)})
				continue
			}
			key := k.Value
			if line, dup := seen[key]; dup {
				p.fail(prefix+key, fmt.Sprintf("appears more than once (lines %d and %d)", line, k.Line))
				continue
			}
			seen[key] = k.Line
			if key == "tables" {
				set[key] = true
				p.setField(prefix+key, &cl.Tables, resolveYAMLAlias(v))
				continue
			}
			idx, known := configKeyIndex[key]
			if !known || clusterKeys[key] == 0 {
				p.unknown = append(p.unknown, unknownKey{prefix: prefix, name: key})
				continue
			}
			set[key] = true
			if key == "password" && v != nil && v.Kind == yaml.ScalarNode {
				p.rawPasswords = append(p.rawPasswords, v.Value)
			}
			p.setField(prefix+key, configKeys[idx].field(&cl), resolveYAMLAlias(v))
		}
	}
	// A cluster's nodes are its own: without host or a discovery that
	// finds them (Patroni, or DNS with a name of its own: without one, dns
	// looks up host), it would be localhost:5432, most likely not the
	// events database. The check is the parser's: only it knows what was set.
	discovered := cl.Discovery == DiscoveryPatroni || cl.Discovery == DiscoveryDNS && set["discovery_dns_name"]
	if !set["host"] && !p.skip[prefix+"host"] && !discovered {
		p.fail(prefix+"host", "is required: a cluster gives its own nodes (host and replica_hosts, or discovery), "+
			"they are never the default cluster's")
	}
	if p.skip[prefix+"host"] {
		cl.Host = ""
	}
	if p.skip[prefix+"port"] {
		cl.Port = 0
	}
	if p.cfg.Clusters == nil {
		p.cfg.Clusters = map[string]Config{}
	}
	p.cfg.Clusters[name] = cl
	if p.clusterSet == nil {
		p.clusterSet = map[string]map[string]bool{}
	}
	p.clusterSet[name] = set
}

// inheritedFinding reports whether a validation finding about a cluster is
// about a key the cluster did not set and the top level already has a
// problem with: one bad value, one message.
func (p *configParser) inheritedFinding(field string, top map[string]bool) bool {
	rest, ok := strings.CutPrefix(field, "clusters.")
	if !ok {
		return false
	}
	name, key, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	key = configBaseField(key)
	set, parsed := p.clusterSet[name]
	return parsed && !set[key] && clusterKeys[key] == clusterInherit && (top[key] || p.skip[key])
}
