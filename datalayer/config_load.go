package datalayer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadConfig reads the YAML file at path and parses it with ParseConfig.
// An unreadable file is an error that names the path; an invalid
// configuration is a *ConfigError (errors.Is(err, ErrInvalidConfig)).
func LoadConfig(path string) (Config, error) {
	data, err := readConfigFile(path)
	var ce *ConfigError
	switch {
	case errors.As(err, &ce):
		return Config{}, fmt.Errorf("%s: %w", path, err)
	case err != nil:
		// err (an *fs.PathError) names the file already.
		return Config{}, fmt.Errorf("unifieddb: reading configuration: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads a configuration from YAML whose top-level key is
// `database` (other top-level keys are left to their owners). It starts from
// DefaultConfig, so a missing key keeps its default, expands ${VAR} and
// ${VAR:-default} in every value (see ExpandEnv), converts each value and
// then runs Validate.
//
// Every problem is collected: the error is one *ConfigError naming every bad
// key, and wraps ErrInvalidConfig. Unknown keys are errors in strict mode
// (`strict_mode: true` in the same section) and otherwise warnings in
// Config.Warnings. No error or warning contains the password. A value
// tagged !raw (`password: !raw "pa${ss"`) is taken as written, unexpanded.
//
// Input larger than MaxConfigSize is refused without being parsed, and at
// most a few unknown keys and problems are listed one by one (the rest are
// counted), so that the work and the message stay bounded whatever the input.
func ParseConfig(data []byte) (Config, error) {
	return parseConfig(data, os.LookupEnv, false)
}

// MaxConfigSize is the largest configuration ParseConfig, LoadConfig and
// MigrateLegacyConfig read: 1 MiB, far above any real configuration (a few
// KB), so that a wrong or hostile file is refused at once instead of being
// parsed for minutes.
const MaxConfigSize = 1 << 20

// Caps on what one parse lists one by one; the rest are counted in one line.
const (
	maxUnknownReported = 20
	maxProblems        = 100
)

// errTooLarge is the problem of an input over MaxConfigSize.
func errTooLarge(size int64) *ConfigError {
	return &ConfigError{Fields: []FieldError{{Problem: fmt.Sprintf(
		"the configuration is larger than 1 MiB (%d bytes or more): is this the right file?", size)}}}
}

// readConfigFile reads path, but never more than MaxConfigSize+1 bytes: a
// huge file (or /dev/zero) is refused without being read whole.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxConfigSize {
		return nil, errTooLarge(int64(len(data)))
	}
	return data, nil
}

// parseConfig is ParseConfig with the environment given as lookup. With
// placeholdersOK, a ${VAR} that lookup does not know and that has no default
// is not an error: that value is treated as set to something valid and is
// neither converted nor validated (used to check migrated files).
func parseConfig(data []byte, lookup func(string) (string, bool), placeholdersOK bool) (Config, error) {
	if len(data) > MaxConfigSize {
		return Config{}, errTooLarge(int64(len(data)))
	}
	p := &configParser{cfg: DefaultConfig(), lookup: lookup, placeholdersOK: placeholdersOK, skip: map[string]bool{}}
	p.parse(data)
	// A host or port that could not be read must not make a replica look
	// like a duplicate of the default localhost:5432.
	if p.skip["host"] {
		p.cfg.Host = ""
	}
	if p.skip["port"] {
		p.cfg.Port = 0
	}
	if len(p.errs) == 0 || p.sectionFound {
		if err := p.cfg.Validate(); err != nil {
			fields := err.(*ConfigError).Fields
			top := map[string]bool{}
			for _, f := range fields {
				top[configBaseField(f.Field)] = true
			}
			for _, f := range fields {
				if !p.skip[f.Field] && !p.skip[configBaseField(f.Field)] && !p.inheritedFinding(f.Field, top) {
					p.errs = append(p.errs, f)
				}
			}
		}
	}
	if n := len(p.errs) - maxProblems; n > 0 {
		p.errs = append(p.errs[:maxProblems], FieldError{Problem: fmt.Sprintf("%d more problems not listed", n)})
	}
	redact := secretRedactor(p.secrets())
	for i := range p.warnings {
		p.warnings[i] = redact.Replace(p.warnings[i])
	}
	if len(p.errs) > 0 {
		for i := range p.errs {
			p.errs[i].Field = redact.Replace(p.errs[i].Field)
			p.errs[i].Problem = redact.Replace(p.errs[i].Problem)
		}
		return Config{}, &ConfigError{Fields: p.errs}
	}
	p.cfg.Warnings = p.warnings
	return p.cfg, nil
}

// baseField is "replica_hosts" for "replica_hosts[2]".
func configBaseField(field string) string {
	if i := strings.IndexByte(field, '['); i > 0 {
		return field[:i]
	}
	return field
}

// configParser reads the `database` section key by key, collecting every
// problem.
type configParser struct {
	cfg            Config
	lookup         func(string) (string, bool)
	placeholdersOK bool
	data           []byte

	sectionFound bool
	errs         []FieldError
	warnings     []string
	// skip holds the fields that already have a problem (or an unresolved
	// placeholder): Validate's findings about them are not added.
	skip map[string]bool
	// unknown holds the unknown keys, reported once strict_mode is known.
	unknown []unknownKey
	// rawPasswords are the passwords as written, before expansion.
	rawPasswords []string
	// clusterSet holds, for each cluster section read, the keys it sets.
	clusterSet map[string]map[string]bool
}

// unknownKey is an unknown key and the path of its section: "" for the
// top level, "clusters.NAME." for a cluster.
type unknownKey struct {
	prefix, name string
}

func (p *configParser) fail(field, problem string) {
	p.errs = append(p.errs, FieldError{Field: field, Problem: problem})
	p.skip[field] = true
}

// secrets are the strings no message may contain.
func (p *configParser) secrets() []string {
	s := secretsInText(p.data)
	s = append(s, p.cfg.Passwords()...)
	for _, raw := range p.rawPasswords {
		if raw != "" && len(envRefs(raw)) == 0 {
			s = append(s, raw)
		}
	}
	return s
}

// legacySections are the top-level sections of the legacy layout.
var legacySections = map[string]bool{"ha_database": true, "connection_pools": true, "session_management": true}

// legacyKeyHints are legacy keys of the `database` section and what replaces them.
var legacyKeyHints = map[string]string{
	"sync_pool_size":  "pool_size",
	"async_pool_size": "pool_size",
	"name":            "database",
	"user":            "username",
	"connect_timeout": "connection_timeout",
	"primary_host":    "host",
}

const migrateHint = `run "unifieddb config migrate"`

func (p *configParser) parse(data []byte) {
	p.data = data
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.fail("", yamlProblem(err, data)) // a syntax error is no key's
		return
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.fail("database", `the configuration is empty: expected a top-level "database" key`)
		return
	}
	root := resolveYAMLAlias(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		p.fail("database", fmt.Sprintf(`the top level must be a mapping with a "database" key, not %s`, yamlKindName(root)))
		return
	}
	var section *yaml.Node
	var legacy []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := resolveYAMLAlias(root.Content[i])
		switch {
		case k.Kind != yaml.ScalarNode:
		case k.Value == "database":
			if section != nil {
				p.fail("database", fmt.Sprintf("the top-level key appears twice (lines %d and %d)", section.Line, k.Line))
				return
			}
			section = k
			p.parseSection(resolveYAMLAlias(root.Content[i+1]))
		case legacySections[k.Value]:
			legacy = append(legacy, k.Value)
		}
	}
	if section == nil {
		problem := `missing top-level key "database"`
		if len(legacy) > 0 {
			problem += "; this looks like a legacy configuration: " + migrateHint
		}
		p.fail("database", problem)
		return
	}
	p.sectionFound = true
	// A legacy section next to database makes this the legacy layout: its
	// replicas and pools would be silently lost, so it is an error, not a
	// warning, and the migration is named.
	for _, name := range legacy {
		p.fail(name, "legacy section, its settings would be ignored: this file is in the legacy layout; "+
			migrateHint+" to convert it")
	}
	p.reportUnknown()
}

// parseSection reads the mapping under `database`.
func (p *configParser) parseSection(n *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		p.fail("database", fmt.Sprintf(`"database" must be a mapping of keys, not %s`, yamlKindName(n)))
		return
	}
	seen := map[string]int{}
	var clusters *yaml.Node
	for _, kv := range mappingPairs(n) {
		k, v := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			p.unknown = append(p.unknown, unknownKey{name: fmt.Sprintf("(%s at line %d)", yamlKindName(k), k.Line)})
			continue
		}
		name := k.Value
		if line, dup := seen[name]; dup {
			p.fail(name, fmt.Sprintf("appears more than once (lines %d and %d)", line, k.Line))
			continue
		}
		seen[name] = k.Line
		switch name {
		case "clusters":
			clusters = resolveYAMLAlias(v)
			continue
		case "tables":
			p.fail(name, "is only valid inside a cluster (clusters.NAME.tables): the tables of no cluster are on the default one")
			continue
		}
		idx, known := configKeyIndex[name]
		if !known {
			p.unknown = append(p.unknown, unknownKey{name: name})
			continue
		}
		if name == "password" && v != nil && v.Kind == yaml.ScalarNode {
			p.rawPasswords = append(p.rawPasswords, v.Value)
		}
		p.setField(name, configKeys[idx].field(&p.cfg), resolveYAMLAlias(v))
	}
	// Clusters last: they inherit the top-level keys, wherever these are.
	p.parseClusters(clusters)
}
