package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// certAuthority is the lab's own CA: generated at Start, it signs the registrar/proxy's TLS
// certificate and the UEs' (IssueCertificate), so both sides verify each other against one
// pool and nothing needs InsecureSkipVerify. The keys live in memory only.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	now  func() time.Time
}

// certValidity is how long lab certificates are valid, from a day before the lab's clock:
// generous, since TLS checks them against the real clock while tests may run the lab on another.
const certValidity = 10 * 365 * 24 * time.Hour

func newCertAuthority(now func() time.Time, domain string) (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("lab CA key: %w", err)
	}
	start := now().Add(-24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "imsphone lab CA " + domain},
		NotBefore:             start,
		NotAfter:              start.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("lab CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("lab CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &certAuthority{cert: cert, key: key, pool: pool, now: now}, nil
}

// issue makes a leaf certificate for hosts (IP addresses go into IP SANs, names into DNS SANs),
// usable as TLS server and client certificate.
func (ca *certAuthority) issue(hosts ...string) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("lab: a certificate needs at least one host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("lab certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	start := ca.now().Add(-24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(2)),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    start,
		NotAfter:     start.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("lab certificate for %q: %w", hosts, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// CAPool is the pool that verifies every certificate of this lab (nil unless the lab was
// started with SIPTLS).
func (l *Lab) CAPool() *x509.CertPool {
	if l.ca == nil {
		return nil
	}
	return l.ca.pool
}

// CACertPEM is the lab CA's certificate in PEM, for programs outside the process (nil unless
// the lab was started with SIPTLS).
func (l *Lab) CACertPEM() []byte {
	if l.ca == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.ca.cert.Raw})
}

// IssueCertificate makes a certificate for hosts signed by the lab CA: a UE on transport tls
// shows it to the proxy that connects to its Contact.
func (l *Lab) IssueCertificate(hosts ...string) (tls.Certificate, error) {
	if l.ca == nil {
		return tls.Certificate{}, errors.New("lab: started without SIPTLS, no CA")
	}
	return l.ca.issue(hosts...)
}

// UETLSConfig is a client.Config.TLS for a UE at host on this lab: the lab CA as roots, and a
// certificate for host issued by it.
func (l *Lab) UETLSConfig(host string) (*tls.Config, error) {
	cert, err := l.IssueCertificate(host)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: l.ca.pool, ClientCAs: l.ca.pool,
		Certificates: []tls.Certificate{cert}}, nil
}
