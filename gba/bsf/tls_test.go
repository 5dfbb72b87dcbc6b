package bsf

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba/zn"
)

// testCA is a throwaway CA made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a leaf certificate for 127.0.0.1 (server) or a client.
func (ca *testCA) issue(t *testing.T, cn string, client bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func tlsClient(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}}}
}

func TestTLSAndMutualTLS(t *testing.T) {
	ca := newTestCA(t, "test BSF CA")
	nafCA := newTestCA(t, "test NAF CA")
	rogueCA := newTestCA(t, "rogue CA")
	serverCert := ca.issue(t, "bsf.home1.net", false)
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, cfg: func(c *Config) {
		c.UbTLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
		c.ZnTLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
		c.ZnClientCAs = nafCA.pool
	}})
	e.ubHTTP = tlsClient(ca.pool)
	e.znHTTP = tlsClient(ca.pool, nafCA.issue(t, "kms.home1.net", true))
	btid, ueKey := e.bootstrapManual(sub) // Ub over HTTPS

	ctx := context.Background()
	// Client certificate, no token, configured the way the KMS does it (zn.ClientConfig.TLS).
	kmsZn, err := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: e.znURL, TLS: &tls.Config{RootCAs: ca.pool,
		Certificates: []tls.Certificate{nafCA.issue(t, "kms.home1.net", true)}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kmsZn.CloseIdleConnections) // runs before the BSF stops
	k, err := kmsZn.Resolve(ctx, btid, kmsNAF)
	if err != nil || !bytes.Equal(k.Key, ueKey) {
		t.Fatalf("mutual TLS: %v", err)
	}
	if k, err := e.resolver("").Resolve(ctx, btid, kmsNAF); err != nil || !bytes.Equal(k.Key, ueKey) {
		t.Fatalf("mutual TLS (test transport): %v", err)
	}
	// No certificate: the bearer token still works, nothing else does.
	e.znHTTP = tlsClient(ca.pool)
	if _, err := e.resolver(testToken).Resolve(ctx, btid, kmsNAF); err != nil {
		t.Fatalf("token over TLS: %v", err)
	}
	var pe *zn.ProblemError
	if _, err := e.resolver("").Resolve(ctx, btid, kmsNAF); !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
		t.Fatalf("no certificate, no token: %v", err)
	}
	// A certificate from a CA the BSF does not trust: Go's client does not even offer it (the
	// CertificateRequest names the accepted CAs), so the BSF sees no certificate and answers 401.
	rogue := rogueCA.issue(t, "kms.home1.net", true)
	e.znHTTP = tlsClient(ca.pool, rogue)
	if _, err := e.resolver("").Resolve(ctx, btid, kmsNAF); !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
		t.Fatalf("rogue client certificate, not offered: %v", err)
	}
	// Forced onto the wire, it fails the handshake.
	e.znHTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.pool, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogue, nil }}}}
	if _, err := e.resolver("").Resolve(ctx, btid, kmsNAF); err == nil || errors.As(err, &pe) {
		t.Fatalf("rogue client certificate, forced: %v", err)
	}
	// Plain HTTP towards the TLS port fails too.
	if resp, err := http.Get("http://" + e.znURL[len("https://"):] + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS port")
	}
}
