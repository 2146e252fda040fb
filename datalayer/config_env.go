package datalayer

import (
	"os"
	"slices"
	"strings"
)

// ExpandEnv expands ${VAR} and ${VAR:-default} in s from the process
// environment and returns the result with the names of the variables that
// were unset and had no default (each once, in order of appearance; each
// expands to "").
//
//   - ${VAR} is VAR's value; an unset VAR is reported.
//   - ${VAR:-default} is VAR's value, or default when VAR is unset or empty.
//     The default is taken literally: it is not expanded and cannot contain "}".
//   - A plain $, $VAR without braces, "$$", a "${" that is not closed, and
//     "${...}" whose name is not a valid variable name are left untouched;
//     "$$" also protects the "{" after it, so "$${VAR}" stays as written.
//
// LoadConfig and ParseConfig apply it to every scalar value (not to keys)
// before converting it; a scalar tagged !raw is not expanded.
func ExpandEnv(s string) (string, []string) {
	return expandEnv(s, os.LookupEnv)
}

// expandEnv is ExpandEnv with the environment given as a lookup function.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var unset []string
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$$") {
			b.WriteString("$$")
			i += 2
			continue
		}
		if name, def, hasDef, n := envRef(s[i:]); n > 0 {
			v, ok := lookup(name)
			switch {
			case ok && (v != "" || !hasDef):
				b.WriteString(v)
			case hasDef:
				b.WriteString(def)
			default:
				if !slices.Contains(unset, name) {
					unset = append(unset, name)
				}
			}
			i += n
			continue
		}
		b.WriteByte('$')
		i++
	}
	return b.String(), unset
}

// envRef parses a reference "${NAME}" or "${NAME:-default}" at the start of s
// and returns its parts and length, or n == 0 when s does not start with one.
func envRef(s string) (name, def string, hasDef bool, n int) {
	if !strings.HasPrefix(s, "${") {
		return "", "", false, 0
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", "", false, 0
	}
	name, def, hasDef = strings.Cut(s[2:end], ":-")
	if !validEnvName(name) {
		return "", "", false, 0
	}
	return name, def, hasDef, end + 1
}

// envRefs returns the variable names referenced in s, in order, each once.
func envRefs(s string) []string {
	var names []string
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "$$") {
			i++
			continue
		}
		if name, _, _, n := envRef(s[i:]); n > 0 {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
			i += n - 1
		}
	}
	return names
}

// validEnvName reports whether s is a POSIX shell variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
