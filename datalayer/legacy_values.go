package datalayer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

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
