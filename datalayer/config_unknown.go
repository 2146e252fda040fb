package datalayer

import (
	"fmt"
	"strings"
)

// unknownKeysHint tells how to keep unknown keys as warnings; it follows the
// first unknown key reported as an error.
const unknownKeysHint = " [unknown_keys: warn accepts unknown keys with a warning]"

// reportUnknown reports the unknown keys: errors in strict mode and by
// default (unknown_keys: error), warnings with unknown_keys: warn. A typo
// such as replica_host would otherwise turn a three-node configuration into
// one node without a word.
func (p *configParser) reportUnknown() {
	strict := p.cfg.StrictMode && !p.skip["strict_mode"]
	warn := !strict && p.cfg.UnknownKeys == UnknownKeysWarn && !p.skip["unknown_keys"]
	if n := len(p.unknown) - maxUnknownReported; n > 0 {
		defer func() {
			switch {
			case strict:
				p.errs = append(p.errs, FieldError{Field: "database", Problem: fmt.Sprintf("%d more unknown keys (strict_mode)", n)})
			case warn:
				p.warnings = append(p.warnings, fmt.Sprintf("%d more unknown keys ignored", n))
			default:
				p.errs = append(p.errs, FieldError{Field: "database", Problem: fmt.Sprintf("%d more unknown keys", n)})
			}
		}()
		p.unknown = p.unknown[:maxUnknownReported]
	}
	for i, u := range p.unknown {
		name := u.prefix + u.name
		var msg, hint string
		switch {
		case strings.HasPrefix(u.name, "("):
			msg = "unknown key " + u.name + " ignored"
			if u.prefix != "" {
				msg = "unknown key " + u.name + " in " + strings.TrimSuffix(u.prefix, ".") + " ignored"
			}
		default:
			msg = fmt.Sprintf("unknown key %s ignored", quoteConfigValue(name))
			hint = unknownKeyHint(u)
		}
		switch {
		case strict:
			if strings.HasPrefix(u.name, "(") {
				name = strings.TrimSuffix(u.prefix, ".")
			}
			p.fail(name, strings.Replace(msg, " ignored", "", 1)+hint+" (strict_mode)")
		case warn:
			p.warnings = append(p.warnings, msg+hint)
		default:
			field, problem := "database."+name, "unknown key"+hint
			if strings.HasPrefix(u.name, "(") {
				field, problem = strings.TrimSuffix("database."+u.prefix, "."), "unknown key "+u.name
			}
			if i == 0 {
				problem += unknownKeysHint
			}
			p.fail(field, problem)
		}
	}
}

// unknownKeyHint is what follows the message about an unknown key: the
// key it replaces or is probably a typo of, or, inside a cluster, that the
// key belongs to the whole configuration.
func unknownKeyHint(u unknownKey) string {
	if u.prefix == "" {
		if len(u.name) <= 64 && keyEditDistance(strings.ToLower(u.name), "clusters") < 3 {
			return ` (did you mean "clusters"?)`
		}
		if legacy, ok := legacyKeyHints[u.name]; ok {
			return fmt.Sprintf(" (a legacy key: use %q, or %s)", legacy, migrateHint)
		}
		if s := closestKey(u.name); s != "" {
			return fmt.Sprintf(" (did you mean %q?)", s)
		}
		return ""
	}
	switch _, known := configKeyIndex[u.name]; {
	case known:
		return fmt.Sprintf(" (%s is a key of the whole configuration, not of one cluster: set it at the top level)", u.name)
	case u.name == "clusters":
		return " (clusters do not nest: declare every cluster under the top-level clusters)"
	}
	if len(u.name) <= 64 && keyEditDistance(strings.ToLower(u.name), "tables") < 3 {
		return ` (did you mean "tables"?)`
	}
	if s := closestKey(u.name); s != "" && clusterKeys[s] != 0 {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
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
