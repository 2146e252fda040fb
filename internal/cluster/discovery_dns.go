package cluster

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// DNSDiscoverer makes a node of every A and AAAA record of Name, all on Port.
type DNSDiscoverer struct {
	Name string
	Port int
	// Resolve looks Name up; nil: net.DefaultResolver.LookupNetIP(ctx, "ip", name).
	Resolve func(ctx context.Context, name string) ([]netip.Addr, error)
}

// Source implements Discoverer.
func (d *DNSDiscoverer) Source() string { return "dns " + net.JoinHostPort(d.Name, fmt.Sprint(d.Port)) }

// Discover implements Discoverer. Records come in the resolver's order
// (the first is assumed primary until the probes answer); one address
// returned twice is one node.
func (d *DNSDiscoverer) Discover(ctx context.Context) ([]Member, error) {
	resolve := d.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, name string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
		}
	}
	ips, err := resolve(ctx, d.Name)
	if err != nil {
		return nil, fmt.Errorf("dns %s: %w", d.Name, err)
	}
	seen := make(map[netip.Addr]bool, len(ips))
	var ms []Member
	for _, ip := range ips {
		ip = ip.Unmap()
		if !ip.IsValid() || seen[ip] {
			continue
		}
		seen[ip] = true
		ms = append(ms, Member{Addr: Addr{Host: ip.String(), Port: d.Port}})
	}
	return ms, nil
}
