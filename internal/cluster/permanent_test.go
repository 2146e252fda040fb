package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

// Which connection and probe errors waiting cannot cure.
func TestPermanentFault(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("failed to connect: server error: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"wrong password", pg("28P01"), true},
		{"no pg_hba.conf entry", pg("28000"), true},
		{"unknown database", pg("3D000"), true},
		{"no CONNECT privilege", pg("42501"), true},
		{"server starting up", pg("57P03"), false},
		{"too many connections", pg("53300"), false},
		{"admin shutdown", pg("57P01"), false},
		{"connection failure", pg("08006"), false},
		{"refused", fmt.Errorf("dial error: %w", syscall.ECONNREFUSED), false},
		{"reset", syscall.ECONNRESET, false},
		{"timeout", fmt.Errorf("probe: %w", context.DeadlineExceeded), false},
		{"name not found", &net.OpError{Op: "dial", Err: &net.DNSError{Name: "db.invalid", Err: "no such host", IsNotFound: true}}, true},
		{"resolver timeout", &net.DNSError{Name: "db.example", Err: "i/o timeout", IsTimeout: true}, false},
		{"resolver unreachable", &net.DNSError{Name: "db.example", Err: "server misbehaving", IsTemporary: true}, false},
		{"TLS refused (sslmode=require, ssl=off)", fmt.Errorf("tls error: %w", errors.New("server refused TLS connection")), true},
		{"unknown authority", fmt.Errorf("tls error: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"wrong host name", x509.HostnameError{Host: "db"}, true},
		{"expired", fmt.Errorf("failed to write startup message: %w", x509.CertificateInvalidError{Reason: x509.Expired}), true},
		{"other text", errors.New("unexpected EOF"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, permanentFault(c.err), "%v", c.err)
		})
	}
}
