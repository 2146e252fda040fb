package pgcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// makeCert writes a self-signed certificate and key for 127.0.0.1 into the
// cluster directory, readable by the server user only (PostgreSQL refuses a
// key others can read), and returns the settings that turn ssl on.
func (c *Cluster) makeCert() ([][2]string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "unifieddb-pgcluster"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(c.dir, "server.crt"), filepath.Join(c.dir, "server.key")
	files := []struct {
		path  string
		block *pem.Block
	}{
		{certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der}},
		{keyFile, &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(f.block), 0o600); err != nil {
			return nil, err
		}
		if err := c.runAs.chown(f.path); err != nil {
			return nil, err
		}
	}
	return [][2]string{{"ssl", "on"}, {"ssl_cert_file", certFile}, {"ssl_key_file", keyFile}}, nil
}
