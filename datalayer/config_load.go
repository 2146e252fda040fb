package datalayer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

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
			for _, f := range err.(*ConfigError).Fields {
				if !p.skip[f.Field] && !p.skip[configBaseField(f.Field)] {
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
	unknown []string
	// rawPassword is the password as written, before expansion.
	rawPassword string
}

func (p *configParser) fail(field, problem string) {
	p.errs = append(p.errs, FieldError{Field: field, Problem: problem})
	p.skip[field] = true
}

// secrets are the strings no message may contain.
func (p *configParser) secrets() []string {
	s := secretsInText(p.data)
	if p.cfg.Password != "" {
		s = append(s, p.cfg.Password)
	}
	if p.rawPassword != "" && len(envRefs(p.rawPassword)) == 0 {
		s = append(s, p.rawPassword)
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
	for _, kv := range mappingPairs(n) {
		k, v := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			p.unknown = append(p.unknown, fmt.Sprintf("(%s at line %d)", yamlKindName(k), k.Line))
			continue
		}
		name := k.Value
		if line, dup := seen[name]; dup {
			p.fail(name, fmt.Sprintf("appears more than once (lines %d and %d)", line, k.Line))
			continue
		}
		seen[name] = k.Line
		idx, known := configKeyIndex[name]
		if !known {
			p.unknown = append(p.unknown, name)
			continue
		}
		if name == "password" && v != nil && v.Kind == yaml.ScalarNode {
			p.rawPassword = v.Value
		}
		p.setField(name, configKeys[idx].field(&p.cfg), resolveYAMLAlias(v))
	}
}

// mappingPairs returns the key/value pairs of a mapping, with the pairs of
// merge keys (`<<: *defaults`) after them when their key is not set directly.
func mappingPairs(n *yaml.Node) [][2]*yaml.Node {
	var pairs, merged [][2]*yaml.Node
	direct := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveYAMLAlias(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, mergePairs(resolveYAMLAlias(v))...)
			continue
		}
		if k.Kind == yaml.ScalarNode {
			direct[k.Value] = true
		}
		pairs = append(pairs, [2]*yaml.Node{k, v})
	}
	for _, kv := range merged {
		if !direct[kv[0].Value] {
			direct[kv[0].Value] = true // the first merged mapping wins
			pairs = append(pairs, kv)
		}
	}
	return pairs
}

// mergePairs are the scalar-keyed pairs of a merge value: a mapping or a
// list of mappings (one level; nested merges are not followed).
func mergePairs(v *yaml.Node) [][2]*yaml.Node {
	var maps []*yaml.Node
	switch {
	case v == nil:
	case v.Kind == yaml.MappingNode:
		maps = []*yaml.Node{v}
	case v.Kind == yaml.SequenceNode:
		for _, m := range v.Content {
			if m = resolveYAMLAlias(m); m != nil && m.Kind == yaml.MappingNode {
				maps = append(maps, m)
			}
		}
	}
	var out [][2]*yaml.Node
	for _, m := range maps {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := resolveYAMLAlias(m.Content[i]); k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
				out = append(out, [2]*yaml.Node{k, m.Content[i+1]})
			}
		}
	}
	return out
}

// scalar is the text of a scalar value after ${VAR} expansion. ok is false
// when the field got a problem (reported) or holds an unresolved placeholder
// (placeholdersOK).
func (p *configParser) scalar(field string, n *yaml.Node) (text string, null, expanded, ok bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		p.fail(field, "must be a single value, not "+yamlKindName(n))
		return "", false, false, false
	}
	if isYAMLNull(n) {
		return "", true, false, true
	}
	if n.Tag == rawTag {
		return n.Value, false, false, true
	}
	s, unset := expandEnv(n.Value, p.lookup)
	if len(unset) > 0 {
		if p.placeholdersOK {
			p.skip[field] = true
			return "", false, true, false
		}
		if len(unset) == 1 {
			p.fail(field, fmt.Sprintf("environment variable %s is not set", unset[0]))
		} else {
			p.fail(field, fmt.Sprintf("environment variables %s are not set", strings.Join(unset, ", ")))
		}
		return "", false, true, false
	}
	return s, false, s != n.Value, true
}

// setField converts n and stores it in field (a pointer from configKey.field).
func (p *configParser) setField(name string, field any, n *yaml.Node) {
	if list, ok := field.(*[]string); ok {
		p.setList(name, list, n)
		return
	}
	s, null, expanded, ok := p.scalar(name, n)
	if !ok {
		return
	}
	if f, isString := field.(*string); isString {
		*f = s // null is ""
		return
	}
	if null {
		p.fail(name, "has no value")
		return
	}
	var err error
	switch f := field.(type) {
	case *int:
		*f, err = parseInteger(s)
	case *bool:
		*f, err = parseBoolean(s)
	case *time.Duration:
		*f, err = parseSeconds(s)
	}
	if err != nil {
		got := quoteConfigValue(n.Value)
		if expanded {
			got += " (its value from the environment is not shown)"
		}
		p.fail(name, fmt.Sprintf("%v, got %s", err, got))
	}
}

// setList reads replica_hosts: a list of strings or one comma-separated
// string. Entries are checked by Validate.
func (p *configParser) setList(name string, list *[]string, n *yaml.Node) {
	*list = nil
	switch {
	case n != nil && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			field := name + "[" + strconv.Itoa(i) + "]"
			// A failed entry is kept as "" so that the indexes stay those
			// of the file; Validate's finding about it is skipped.
			s, null, _, _ := p.scalar(field, resolveYAMLAlias(item))
			if null {
				p.fail(field, "is empty")
			}
			*list = append(*list, strings.TrimSpace(s))
		}
	case n != nil && n.Kind == yaml.ScalarNode:
		s, null, _, ok := p.scalar(name, n)
		if !ok || null || strings.TrimSpace(s) == "" {
			return
		}
		for _, part := range strings.Split(s, ",") {
			*list = append(*list, strings.TrimSpace(part))
		}
	default:
		p.fail(name, "must be a list of host or host:port entries, not "+yamlKindName(n))
	}
}

// reportUnknown reports the unknown keys: errors in strict mode, warnings
// otherwise.
func (p *configParser) reportUnknown() {
	strict := p.cfg.StrictMode && !p.skip["strict_mode"]
	if n := len(p.unknown) - maxUnknownReported; n > 0 {
		defer func() {
			if strict {
				p.errs = append(p.errs, FieldError{Field: "database", Problem: fmt.Sprintf("%d more unknown keys (strict_mode)", n)})
			} else {
				p.warnings = append(p.warnings, fmt.Sprintf("%d more unknown keys ignored", n))
			}
		}()
		p.unknown = p.unknown[:maxUnknownReported]
	}
	for _, name := range p.unknown {
		var msg string
		switch {
		case strings.HasPrefix(name, "("):
			msg = "unknown key " + name + " ignored"
		default:
			msg = fmt.Sprintf("unknown key %s ignored", quoteConfigValue(name))
			if hint, ok := legacyKeyHints[name]; ok {
				msg += fmt.Sprintf(" (a legacy key: use %q, or %s)", hint, migrateHint)
			} else if s := closestKey(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
		}
		if strict {
			p.fail(name, strings.Replace(msg, " ignored", "", 1)+" (strict_mode)")
		} else {
			p.warnings = append(p.warnings, msg)
		}
	}
}

// normalizedKeys maps each known key, lowercased without "-", "_" and " ",
// to the key: computed once, not per comparison.
var normalizedKeys = func() map[string]string {
	m := make(map[string]string, len(configKeys))
	for _, k := range configKeys {
		m[normalizeKey(k.name)] = k.name
	}
	return m
}()

// normalizeKey lowercases s and drops "-", "_" and " ".
func normalizeKey(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '-' || c == '_' || c == ' ':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// closestKey is the known key nearest to name, or "" when none is near.
func closestKey(name string) string {
	if len(name) > 64 {
		return ""
	}
	if k, ok := normalizedKeys[normalizeKey(name)]; ok {
		return k
	}
	lower := strings.ToLower(name)
	best, bestDist := "", 3
	for _, k := range configKeys {
		if abs(len(lower)-len(k.name)) >= bestDist {
			continue // the distance is at least the difference in length
		}
		if d := keyEditDistance(lower, k.name); d < bestDist {
			best, bestDist = k.name, d
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance is the Levenshtein distance of two short strings.
func keyEditDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

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
