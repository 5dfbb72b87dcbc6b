package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// With SIPTLS the registrar/proxy's TLS listener shows a certificate for the lab's host that
// verifies against CAPool, and against CACertPEM parsed anew; a client trusting only the system
// roots is refused; certificates issued for UEs verify too.
func TestSIPTLSListener(t *testing.T) {
	l, err := Start(context.Background(), Config{Domain: "home1.net", SIPTLS: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.SIPTLSAddr == "" || l.SIPTLSAddr == l.SIPAddr {
		t.Fatalf("SIPTLSAddr %q (SIPAddr %q)", l.SIPTLSAddr, l.SIPAddr)
	}
	block, _ := pem.Decode(l.CACertPEM())
	if block == nil {
		t.Fatal("CACertPEM is not PEM")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, roots := range []*x509.CertPool{l.CAPool(), pool} {
		c, err := tls.Dial("tcp", l.SIPTLSAddr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("TLS to the lab: %v", err)
		}
		c.Close()
	}
	if c, err := tls.Dial("tcp", l.SIPTLSAddr, &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		c.Close()
		t.Fatal("the lab's certificate verified against the system roots")
	}
	cert, err := l.IssueCertificate("127.0.0.1", "ue.home1.net")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: l.CAPool(), DNSName: "ue.home1.net"}); err != nil {
		t.Fatalf("UE certificate: %v", err)
	}

	plain, err := Start(context.Background(), Config{Domain: "home1.net"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if plain.SIPTLSAddr != "" || plain.CAPool() != nil || plain.CACertPEM() != nil {
		t.Fatal("TLS without SIPTLS")
	}
	if _, err := plain.IssueCertificate("127.0.0.1"); err == nil {
		t.Fatal("certificate issued without a CA")
	}
}
