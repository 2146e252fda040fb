package datalayer

import (
	"bytes"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

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
