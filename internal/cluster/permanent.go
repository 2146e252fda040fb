package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// SQLSTATE codes of faults that waiting cannot cure: the server answered, and
// it will answer the same until someone changes the configuration, a role or
// the database.
const (
	codeInvalidPassword       = "28P01" // invalid_password: password authentication failed
	codeInvalidAuthorization  = "28000" // invalid_authorization_specification: no pg_hba.conf entry, role cannot log in
	codeInvalidCatalogName    = "3D000" // invalid_catalog_name: the database does not exist
	codeInsufficientPrivilege = "42501" // insufficient_privilege: no CONNECT on the database
)

// tlsRefused is pgconn's text when the server answers an SSLRequest with
// 'N' (it has ssl = off) and sslmode asks for TLS: pgconn gives it no type.
const tlsRefused = "server refused TLS connection"

// permanentFault reports whether err, the error of a connection attempt or a
// probe, is one that waiting cannot cure: the password or the role is
// refused, the database does not exist, the server refuses TLS or its
// certificate does not verify, or the host name does not resolve. A refused
// connection, a reset, a timeout or a server starting up (57P03) are not:
// the server may be restarting.
func permanentFault(err error) bool {
	if err == nil {
		return false
	}
	switch SQLState(err) {
	case codeInvalidPassword, codeInvalidAuthorization, codeInvalidCatalogName, codeInsufficientPrivilege:
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsNotFound
	}
	return badCertificate(err) || strings.Contains(err.Error(), tlsRefused)
}

// badCertificate reports whether err is a failed verification of the
// server's certificate (sslmode verify-ca or verify-full).
func badCertificate(err error) bool {
	var (
		verifyErr   *tls.CertificateVerificationError
		authority   x509.UnknownAuthorityError
		invalid     x509.CertificateInvalidError
		hostname    x509.HostnameError
		constraints x509.ConstraintViolationError
	)
	return errors.As(err, &verifyErr) || errors.As(err, &authority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &constraints)
}
