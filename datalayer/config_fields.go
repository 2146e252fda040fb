package datalayer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

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
