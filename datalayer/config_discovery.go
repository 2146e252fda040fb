package datalayer

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/prompt-improver/unifieddb/plugin"
)

var configDiscoveries = []string{DiscoveryStatic, DiscoveryPatroni, DiscoveryDNS}

// discoveryProblems checks discovery, patroni_urls and discovery_dns_name.
func (c Config) discoveryProblems() []FieldError {
	var errs []FieldError
	bad := func(field, problem string) { errs = append(errs, FieldError{Field: field, Problem: problem}) }
	if !slices.Contains(configDiscoveries, c.Discovery) {
		bad("discovery", "must be one of "+strings.Join(configDiscoveries, ", ")+", got "+quoteConfigValue(c.Discovery))
		return errs
	}
	if c.Discovery != DiscoveryStatic && !c.EnableHA {
		bad("enable_ha", "must be true with discovery "+c.Discovery+": without it the primary is always host, which a discovered list does not keep")
	}
	for i, u := range c.PatroniURLs {
		if problem := patroniURLProblem(u); problem != "" {
			bad("patroni_urls["+strconv.Itoa(i)+"]", problem)
		}
	}
	if c.Discovery == DiscoveryPatroni && len(c.PatroniURLs) == 0 {
		bad("patroni_urls", "is required with discovery patroni (a Patroni REST API, e.g. http://10.0.0.1:8008)")
	}
	if c.DiscoveryDNSName != "" {
		if problem := hostProblem(c.DiscoveryDNSName); problem != "" {
			bad("discovery_dns_name", problem)
		}
	}
	return errs
}

// patroniURLProblem says what is wrong with a Patroni REST API base URL,
// never quoting its password.
func patroniURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return "is empty"
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with http:// or https://, got " + quoteConfigValue(redactedURL(s))
	case u.Host == "":
		return "has no host, got " + quoteConfigValue(redactedURL(s))
	}
	return ""
}

func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

func redactedURLs(us []string) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = redactedURL(u)
	}
	return out
}

// discoverer is the plugin's node source for c.Discovery; nil for static.
func (c Config) discoverer() plugin.Discoverer {
	switch c.Discovery {
	case DiscoveryPatroni:
		return &plugin.PatroniDiscoverer{URLs: append([]string(nil), c.PatroniURLs...)}
	case DiscoveryDNS:
		name := c.DiscoveryDNSName
		if name == "" {
			name = strings.Trim(c.Host, "[]")
		}
		return &plugin.DNSDiscoverer{Name: name, Port: c.Port}
	}
	return nil
}
