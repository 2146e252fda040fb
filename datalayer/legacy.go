package datalayer

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// KeyMove is a legacy key carried to a unified key.
type KeyMove struct {
	From string // legacy key, "section.key", e.g. "connection_pools.mcp_pool_size"
	To   string // unified key, e.g. "pool_size"
}

// KeyNote is a legacy key that was not carried, and why.
type KeyNote struct {
	Key    string // legacy key, "section.key", or a top-level key
	Reason string
}

// MigrationReport says what MigrateLegacyConfig did with every legacy key.
// It never contains the password.
type MigrationReport struct {
	// AlreadyUnified is true when the input was already in the unified
	// layout; it is then returned unchanged.
	AlreadyUnified bool
	// Carried lists the keys carried over, in the order of the file.
	Carried []KeyMove
	// Dropped lists every other key, with the reason, in the order of the
	// file, then the top-level keys that are not sections.
	Dropped []KeyNote
	// Warnings are things to check by hand, e.g. a primary_host that
	// disagrees with database.host.
	Warnings []string
}

// String is the report for people, one item per line.
func (r MigrationReport) String() string {
	var b strings.Builder
	if r.AlreadyUnified {
		b.WriteString("already in the unified layout: nothing to migrate\n")
	} else {
		fmt.Fprintf(&b, "carried (%d):\n", len(r.Carried))
		for _, m := range r.Carried {
			fmt.Fprintf(&b, "  %s -> %s\n", m.From, m.To)
		}
		fmt.Fprintf(&b, "dropped (%d):\n", len(r.Dropped))
		for _, n := range r.Dropped {
			fmt.Fprintf(&b, "  %s: %s\n", n.Key, n.Reason)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "warnings (%d):\n", len(r.Warnings))
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	return b.String()
}

// legacyRule says where a legacy key goes: to a unified key (when several
// legacy keys go to one, the lowest prio wins), or nowhere, for reason.
type legacyRule struct {
	to     string
	prio   int
	reason string
}

// Reasons of keys that have no unified equivalent.
const (
	reasonPrePing   = "background health checks (enable_health_checks) replace pre-ping"
	reasonIsolation = "set per transaction (sql.TxOptions in m.Transaction's db.Transaction)"
	reasonOneOver   = "one max_overflow applies to every pool"
	reasonUnknown   = "not a known legacy key"
)

// legacyRules maps "section.key" of the legacy layout. A legacy key that is
// not listed but is a unified key name is carried to that key (prio 5).
var legacyRules = map[string]legacyRule{
	"database.host":            {to: "host"},
	"database.port":            {to: "port"},
	"database.database":        {to: "database"},
	"database.name":            {to: "database", prio: 1},
	"database.username":        {to: "username"},
	"database.user":            {to: "username", prio: 1},
	"database.password":        {to: "password"},
	"database.sync_pool_size":  {to: "pool_size", prio: 1},
	"database.pool_size":       {to: "pool_size", prio: 2},
	"database.async_pool_size": {to: "pool_size", prio: 3},
	"database.max_overflow":    {to: "max_overflow", prio: 1},
	"database.pool_timeout":    {to: "pool_timeout"},
	"database.pool_recycle":    {to: "pool_recycle"},
	"database.echo":            {to: "echo"},
	"database.connect_timeout": {to: "connection_timeout", prio: 1},
	"database.command_timeout": {to: "statement_timeout", prio: 1},
	"database.ssl_mode":        {to: "sslmode", prio: 1},
	"database.pool_pre_ping":   {reason: reasonPrePing},
	"database.echo_pool":       {reason: "no pool event log; debug_mode logs routing and health decisions"},
	"database.isolation_level": {reason: reasonIsolation},
	"database.driver":          {reason: "always PostgreSQL through pgx"},
	"database.dialect":         {reason: "always PostgreSQL through pgx"},
	"database.url":             {reason: "connection URLs are not read: set host, port, database, username and password"},
	"database.dsn":             {reason: "connection URLs are not read: set host, port, database, username and password"},
	"database.schema":          {reason: "set search_path on the database role instead"},

	"ha_database.primary_host":          {to: "host", prio: 1},
	"ha_database.primary_port":          {to: "port", prio: 1},
	"ha_database.replica_hosts":         {to: "replica_hosts"},
	"ha_database.failover_timeout":      {to: "failover_timeout"},
	"ha_database.health_check_interval": {to: "health_check_interval"},
	"ha_database.enable_ha":             {to: "enable_ha"},
	"ha_database.enabled":               {to: "enable_ha", prio: 1},
	"ha_database.max_replication_lag":   {to: "max_replication_lag"},
	"ha_database.load_balancing":        {to: "replica_policy", prio: 1},
	"ha_database.auto_failover":         {reason: "failover is automatic when enable_ha is true"},
	"ha_database.health_check_timeout":  {reason: "a health-check round is bounded by connection_timeout"},
	// ha_database.replica_port is handled by migrateReplicaPort.

	"connection_pools.mcp_pool_size":      {to: "pool_size"},
	"connection_pools.ml_pool_size":       {to: "batch_pool_size"},
	"connection_pools.admin_pool_size":    {to: "transactional_pool_size"},
	"connection_pools.max_overflow":       {to: "max_overflow"},
	"connection_pools.pool_timeout":       {to: "pool_timeout", prio: 1},
	"connection_pools.pool_recycle":       {to: "pool_recycle", prio: 1},
	"connection_pools.readonly_pool_size": {reason: "ReadOnly work uses the replicas' pools, sized by pool_size"},
	"connection_pools.pool_pre_ping":      {reason: reasonPrePing},
	"connection_pools.mcp_max_overflow":   {reason: reasonOneOver},
	"connection_pools.ml_max_overflow":    {reason: reasonOneOver},
	"connection_pools.admin_max_overflow": {reason: reasonOneOver},

	"session_management.enable_async":     {reason: "always on: every call takes a context and is safe for concurrent use"},
	"session_management.expire_on_commit": {reason: "GORM has no session identity map: nothing is expired on commit"},
	"session_management.autoflush":        {reason: "GORM sends each write when it is made: there is nothing to flush"},
	"session_management.autocommit":       {reason: "statements outside m.Transaction run in autocommit mode"},
	"session_management.scoped_session":   {reason: "there are no scoped sessions: pass the context and the *gorm.DB"},
	"session_management.isolation_level":  {reason: reasonIsolation},
	"session_management.echo":             {to: "echo", prio: 1},
	// No unified key is close: statement_timeout bounds one statement and
	// pool_recycle one connection, neither a unit of work.
	"session_management.session_timeout": {reason: "there are no long-lived sessions to expire: bound each call with its context's deadline " +
		"(statement_timeout bounds one statement, pool_recycle one connection's lifetime)"},
}

// legacyEntry is one key/value of a legacy section.
type legacyEntry struct {
	key   string // "section.key"
	value *yaml.Node
	rule  legacyRule
}

// emptyEnv is an empty environment: migration output is checked with its
// placeholders unresolved.
func emptyEnv(string) (string, bool) { return "", false }

// maxCopiedNodes bounds the YAML nodes copied from one value (aliases can
// make a small file expand to a huge tree).
const maxCopiedNodes = 10000

// MigrateLegacyConfig turns a legacy configuration (sections `database`,
// `ha_database`, `connection_pools`, `session_management`) into the unified
// `database` section, and reports what became of every legacy key.
//
// Values are carried as written: ${VAR} placeholders survive and nothing is
// read from the environment. Only keys with a legacy value are written,
// plus host, username and password (${DATABASE_USER} and
// ${DATABASE_PASSWORD} when absent) and enable_ha (true when there are
// replicas, unless set). The result is validated, with placeholders treated
// as set: an invalid result is a *ConfigError naming the unified keys (and,
// in the problem, the legacy key each came from).
//
// A file already in the unified layout is returned unchanged with
// report.AlreadyUnified. Empty input, bad YAML and a top level that is not
// a mapping are *ConfigError too.
func MigrateLegacyConfig(old []byte) (unified []byte, report MigrationReport, err error) {
	fail := func(field, problem string) ([]byte, MigrationReport, error) {
		return nil, report, &ConfigError{Fields: []FieldError{{Field: field, Problem: problem}}}
	}
	if len(old) > MaxConfigSize {
		return nil, report, errTooLarge(int64(len(old)))
	}
	if len(bytes.TrimSpace(old)) == 0 {
		return fail("database", "the legacy configuration is empty")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return fail("", yamlProblem(err, old)) // a syntax error is no key's
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return fail("database", "the legacy configuration is empty")
	}
	root := resolveYAMLAlias(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		return fail("database", "the top level must be a mapping of sections (database, ha_database, connection_pools, session_management), not "+yamlKindName(root))
	}

	// Sections, in file order; a section set twice: the later one is used,
	// as the legacy loader (PyYAML) did.
	type section struct {
		name string
		node *yaml.Node
	}
	var sections []section
	var others []KeyNote
	for _, kv := range mappingPairs(root) {
		k, v := kv[0], resolveYAMLAlias(kv[1])
		if k.Kind != yaml.ScalarNode {
			others = append(others, KeyNote{Key: fmt.Sprintf("(%s at line %d)", yamlKindName(k), k.Line), Reason: "not a section name"})
			continue
		}
		if k.Value != "database" && !legacySections[k.Value] {
			others = append(others, KeyNote{Key: k.Value, Reason: "not a database section: not carried (copy it by hand if it is needed)"})
			continue
		}
		switch {
		case v == nil || isYAMLNull(v):
			v = &yaml.Node{Kind: yaml.MappingNode}
		case v.Kind != yaml.MappingNode:
			return fail(k.Value, "must be a mapping of keys, not "+yamlKindName(v))
		}
		for i, s := range sections {
			if s.name == k.Value {
				others = append(others, KeyNote{Key: k.Value, Reason: fmt.Sprintf("the section appears again at line %d; the later one is used", k.Line)})
				sections = append(sections[:i], sections[i+1:]...)
				break
			}
		}
		sections = append(sections, section{k.Value, v})
	}
	if len(sections) == 0 {
		return fail("database", "no database section: this is neither a legacy nor a unified configuration")
	}

	if len(sections) == 1 && sections[0].name == "database" && allUnifiedKeys(sections[0].node) {
		report.AlreadyUnified = true
		if _, err := parseConfig(old, emptyEnv, true); err != nil {
			report.Warnings = append(report.Warnings, "the file does not validate: "+err.Error())
		}
		return old, report, nil
	}

	// Every key of every section, in file order.
	var entries []*legacyEntry
	var replicaPort *legacyEntry
	byKey := map[string]*legacyEntry{}
	for _, s := range sections {
		for _, kv := range mappingPairs(s.node) {
			k := kv[0]
			if k.Kind != yaml.ScalarNode {
				report.Dropped = append(report.Dropped, KeyNote{Key: fmt.Sprintf("%s.(%s at line %d)", s.name, yamlKindName(k), k.Line), Reason: "not a key name"})
				continue
			}
			e := &legacyEntry{key: s.name + "." + k.Value, value: resolveYAMLAlias(kv[1])}
			if prev, dup := byKey[e.key]; dup {
				prev.rule = legacyRule{reason: fmt.Sprintf("set again at line %d; the later value is used", k.Line)}
			}
			byKey[e.key] = e
			e.rule = ruleFor(s.name, k.Value)
			if e.key == "ha_database.replica_port" {
				replicaPort = e
			}
			entries = append(entries, e)
		}
	}

	// The winner of each unified key.
	winners := map[string]*legacyEntry{}
	for _, e := range entries {
		if e.rule.to == "" {
			continue
		}
		if e.value == nil || isYAMLNull(e.value) {
			if e.rule.to != "username" && e.rule.to != "password" {
				e.rule = legacyRule{reason: "has no value; the default is used"}
				continue
			}
		}
		if w := winners[e.rule.to]; w == nil || e.rule.prio < w.rule.prio {
			winners[e.rule.to] = e
		}
	}
	for _, e := range entries {
		to := e.rule.to
		w := winners[to]
		if to == "" || w == e {
			continue
		}
		if legacySameScalar(e.value, w.value) {
			e.rule = legacyRule{reason: "same value as " + w.key}
			continue
		}
		e.rule = legacyRule{reason: w.key + " is used instead"}
		if to == "password" {
			report.Warnings = append(report.Warnings, fmt.Sprintf("%s disagrees with %s; %s is used", e.key, w.key, w.key))
		} else {
			report.Warnings = append(report.Warnings, fmt.Sprintf("%s (%s) disagrees with %s (%s); %s is used",
				e.key, legacyScalarText(e.value), w.key, legacyScalarText(w.value), w.key))
		}
	}
	if p := winners["replica_policy"]; p != nil && p.key == "ha_database.load_balancing" {
		if policy, ok := legacyPolicy(p.value); ok {
			p.value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: policy}
		} else {
			p.rule = legacyRule{reason: "no equivalent replica_policy (round_robin, random, least_latency); the default is used"}
			delete(winners, "replica_policy")
		}
	}

	// The unified section, in the documented key order.
	out := &yaml.Node{Kind: yaml.MappingNode}
	source := map[string]string{} // unified key -> legacy key, for error messages
	budget := maxCopiedNodes
	for _, k := range configKeys {
		var value *yaml.Node
		switch w := winners[k.name]; {
		case w != nil:
			var ok bool
			if value, ok = migratedValue(k, w.value, &budget); !ok {
				return fail(k.name, fmt.Sprintf("the value of %s is too large", w.key))
			}
			source[k.name] = w.key
		case k.name == "host":
			value = yamlStringNode("localhost")
			report.Warnings = append(report.Warnings, "the legacy file has no host: wrote localhost")
		case k.name == "username":
			value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "${DATABASE_USER}"}
			report.Warnings = append(report.Warnings, "the legacy file has no username: wrote ${DATABASE_USER}")
		case k.name == "password":
			value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "${DATABASE_PASSWORD}"}
			report.Warnings = append(report.Warnings, "the legacy file has no password: wrote ${DATABASE_PASSWORD}")
		case k.name == "replica_hosts" && replicaPort != nil:
			replicaPort.rule = legacyRule{reason: "there are no replica_hosts"}
		case k.name == "enable_ha":
			value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(legacyHasReplicas(winners["replica_hosts"]))}
		}
		if k.name == "replica_hosts" && value != nil && replicaPort != nil {
			migrateReplicaPort(replicaPort, value, winners["port"], &report)
		}
		if k.name == "enable_ha" && winners["enable_ha"] != nil && !legacyHasReplicas(winners["replica_hosts"]) {
			if b, err := parseBoolean(value.Value); err == nil && b {
				report.Warnings = append(report.Warnings, winners["enable_ha"].key+" is true but there are no replica_hosts")
			}
		}
		if value != nil {
			out.Content = append(out.Content, yamlKey(k.name), value)
		}
	}

	for _, e := range entries {
		if e.rule.to != "" {
			report.Carried = append(report.Carried, KeyMove{From: e.key, To: e.rule.to})
		} else {
			report.Dropped = append(report.Dropped, KeyNote{Key: e.key, Reason: e.rule.reason})
		}
	}
	report.Dropped = append(report.Dropped, others...)

	rootOut := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{yamlKey("database"), out}}
	rootOut.HeadComment = "Migrated from the legacy layout by unifieddb (see the migration report)."
	unified, err = encodeConfigYAML(rootOut)
	if err != nil {
		return fail("database", err.Error())
	}
	if _, err := parseConfig(unified, emptyEnv, true); err != nil {
		ce := err.(*ConfigError)
		for i, f := range ce.Fields {
			if from, ok := source[configBaseField(f.Field)]; ok {
				ce.Fields[i].Problem += " (from " + from + ")"
			} else if f.Field == "database" {
				ce.Fields[i].Problem += " (the legacy file has no database.database or database.name)"
			}
		}
		return nil, report, ce
	}
	return unified, report, nil
}

// ruleFor is the rule of a legacy key.
func ruleFor(section, key string) legacyRule {
	if r, ok := legacyRules[section+"."+key]; ok {
		return r
	}
	if section == "ha_database" && key == "replica_port" {
		return legacyRule{} // decided by migrateReplicaPort
	}
	if _, ok := configKeyIndex[key]; ok {
		return legacyRule{to: key, prio: 5}
	}
	return legacyRule{reason: reasonUnknown}
}

// allUnifiedKeys reports whether every key of a database section is a
// unified key.
func allUnifiedKeys(n *yaml.Node) bool {
	for _, kv := range mappingPairs(n) {
		if kv[0].Kind != yaml.ScalarNode {
			return false
		}
		if _, ok := configKeyIndex[kv[0].Value]; !ok {
			return false
		}
	}
	return true
}

// migratedValue is the unified value node of key k for a legacy value:
// numbers and booleans written as strings are written as such, anything
// holding a ${VAR} or that does not convert is carried as written (and
// checked by validation).
func migratedValue(k configKey, v *yaml.Node, budget *int) (*yaml.Node, bool) {
	if isYAMLNull(v) { // only username and password get here: explicitly empty
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Style: yaml.DoubleQuotedStyle}, true
	}
	if v.Kind == yaml.SequenceNode {
		c, ok := copyYAMLNode(v, budget, 0)
		if ok {
			c.Style &^= yaml.FlowStyle // one entry per line
		}
		return c, ok
	}
	if v.Kind != yaml.ScalarNode || strings.Contains(v.Value, "${") || v.Tag == rawTag {
		return copyYAMLNode(v, budget, 0)
	}
	text := strings.TrimSpace(v.Value)
	switch k.field(&Config{}).(type) {
	case *int:
		if n, err := parseInteger(text); err == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}, true
		}
	case *bool:
		if b, err := parseBoolean(text); err == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}, true
		}
	case *time.Duration:
		if _, err := parseSeconds(text); err == nil {
			if _, err := strconv.ParseFloat(text, 64); err == nil {
				tag := "!!float"
				if _, err := strconv.ParseInt(text, 10, 64); err == nil {
					tag = "!!int"
				}
				return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: text, LineComment: "# seconds"}, true
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text}, true
		}
	}
	return copyYAMLNode(v, budget, 0)
}

// copyNode deep-copies a value without anchors, aliases or comments, within
// a budget of nodes.
func copyYAMLNode(n *yaml.Node, budget *int, depth int) (*yaml.Node, bool) {
	n = resolveYAMLAlias(n)
	*budget--
	if n == nil || *budget < 0 || depth > 64 {
		return nil, false
	}
	c := &yaml.Node{Kind: n.Kind, Style: n.Style, Tag: n.Tag, Value: n.Value}
	for _, child := range n.Content {
		cc, ok := copyYAMLNode(child, budget, depth+1)
		if !ok {
			return nil, false
		}
		c.Content = append(c.Content, cc)
	}
	return c, true
}

// scalarText is the text of a scalar for a message, or its kind.
func legacyScalarText(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return yamlKindName(n)
	}
	return quoteConfigValue(n.Value)
}

// sameScalar reports whether two legacy values are the same scalar text
// (case-insensitively: host names).
func legacySameScalar(a, b *yaml.Node) bool {
	return a != nil && b != nil && a.Kind == yaml.ScalarNode && b.Kind == yaml.ScalarNode &&
		strings.EqualFold(strings.TrimSpace(a.Value), strings.TrimSpace(b.Value))
}

// hasReplicas reports whether a replica_hosts value lists any replica (a
// placeholder counts as one).
func legacyHasReplicas(e *legacyEntry) bool {
	if e == nil || e.value == nil {
		return false
	}
	switch e.value.Kind {
	case yaml.SequenceNode:
		return len(e.value.Content) > 0
	case yaml.ScalarNode:
		return !isYAMLNull(e.value) && strings.Trim(e.value.Value, " ,") != ""
	}
	return false
}

// legacyPolicy maps a legacy load_balancing value to a replica_policy.
func legacyPolicy(v *yaml.Node) (string, bool) {
	if v == nil || v.Kind != yaml.ScalarNode {
		return "", false
	}
	if strings.Contains(v.Value, "${") {
		return v.Value, true
	}
	s := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v.Value)), "-", "_")
	switch s {
	case "round_robin", "roundrobin":
		return "round_robin", true
	case "random":
		return "random", true
	case "least_latency", "latency", "fastest":
		return "least_latency", true
	}
	return "", false
}

// migrateReplicaPort applies ha_database.replica_port: the port of every
// replica entry that has none, when it differs from the unified port.
func migrateReplicaPort(rp *legacyEntry, replicas *yaml.Node, port *legacyEntry, report *MigrationReport) {
	if rp.value == nil || rp.value.Kind != yaml.ScalarNode || isYAMLNull(rp.value) {
		rp.rule = legacyRule{reason: "has no value"}
		return
	}
	portText := "5432"
	if port != nil && port.value != nil && port.value.Kind == yaml.ScalarNode {
		portText = strings.TrimSpace(port.value.Value)
	}
	rpText := strings.TrimSpace(rp.value.Value)
	if rpText == portText {
		rp.rule = legacyRule{reason: "same as port, the default port of replica_hosts"}
		return
	}
	if replicas.Kind == yaml.ScalarNode && !strings.Contains(replicas.Value, "${") {
		// One comma-separated string: write it as a list.
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, part := range strings.Split(replicas.Value, ",") {
			list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(part)})
		}
		*replicas = *list
	}
	rewritten := false
	for _, item := range replicas.Content {
		switch {
		case item.Kind != yaml.ScalarNode:
		case strings.Contains(item.Value, "${"):
			report.Warnings = append(report.Warnings, fmt.Sprintf("replica entry %s is a placeholder: add :%s to it by hand if it has no port", quoteConfigValue(item.Value), rpText))
		case !strings.Contains(item.Value, ":") && strings.TrimSpace(item.Value) != "":
			item.Value = strings.TrimSpace(item.Value) + ":" + rpText
			item.Style = 0
			rewritten = true
		case strings.HasPrefix(item.Value, "[") && strings.HasSuffix(item.Value, "]"):
			item.Value += ":" + rpText
			rewritten = true
		}
	}
	if !rewritten {
		rp.rule = legacyRule{reason: "every replica entry has its own port"}
		return
	}
	rp.rule = legacyRule{to: "replica_hosts"}
}
