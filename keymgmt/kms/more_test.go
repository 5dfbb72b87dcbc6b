package kms_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// Ticket-protection keys rotate; a ticket issued under the previous key still resolves until the
// key retires, and the key is pruned only after that.
func TestTicketKeyRotation(t *testing.T) {
	e := newEnv(t, envCfg{cfg: kms.Config{TicketKeyRotation: time.Hour, MaxValidity: time.Hour}})
	alice, bob := e.ue("alice@home1.net"), e.ue("bob1@home1.net")
	tk1 := requestTicket(t, alice, baseFlags|mikey.FlagJ, "sip:bob@home1.net")
	k1 := e.lastAudit().KeyID
	e.clk.Add(50 * time.Minute)
	tk2 := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	if k2 := e.lastAudit().KeyID; k2 != k1 {
		t.Fatalf("key rotated too early: %d then %d", k1, k2)
	}
	e.clk.Add(15 * time.Minute) // 65 min: rotation due
	requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	k3 := e.lastAudit().KeyID
	if k3 == k1 {
		t.Fatal("key not rotated after the rotation interval")
	}
	// tk2 (issued at 50 min, valid until 110 min) under the old key still resolves.
	_, err := bob.kc.ResolveTicket(context.Background(), idr(mikey.IDRoleR, bob.impu), tk2.Resp.Ticket)
	must(t, err, "resolve under the previous key")
	if ev := e.lastAudit(); ev.KeyID != k1 {
		t.Fatalf("resolved with key %d, want %d", ev.KeyID, k1)
	}
	e.srv.Prune(context.Background())
	if _, err := e.st.TicketKey(context.Background(), k1); err != nil {
		t.Fatalf("previous key pruned while tickets under it live: %v", err)
	}
	// Retire time: rotation (65 min) + longest validity (1 h) + skew.
	e.clk.Add(time.Hour + testSkew + time.Second)
	e.srv.Prune(context.Background())
	if _, err := e.st.TicketKey(context.Background(), k1); err == nil {
		t.Fatal("retired key not pruned")
	}
	_ = tk1
}

// HTTPS with HTTP/2 by ALPN, and cleartext HTTP/2 (prior knowledge) beside HTTP/1.1.
func TestHTTPVersions(t *testing.T) {
	e := newEnv(t, envCfg{})
	// Cleartext: HTTP/1.1 and h2c.
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{}
		if h2 {
			var p http.Protocols
			p.SetUnencryptedHTTP2(true)
			tr.Protocols = &p
		}
		resp, err := (&http.Client{Transport: tr}).Get(strings.TrimSuffix(e.url, kms.DefaultPath) + "/healthz")
		must(t, err, "GET")
		resp.Body.Close()
		if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
			t.Fatalf("h2c %v: got %s", h2, resp.Proto)
		}
		tr.CloseIdleConnections()
	}

	// TLS with a self-signed certificate for the KMS FQDN.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: kmsFQDN}, DNSNames: []string{kmsFQDN},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err, "certificate")
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	p, _ := policy.Parse([]byte(testPolicy))
	st := store.NewMemory()
	for _, u := range users {
		st.PutUser(context.Background(), u)
	}
	srv, err := kms.New(context.Background(), kms.Config{FQDN: kmsFQDN, Skew: testSkew,
		TLS: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}},
		kms.Options{Store: st, Policy: policy.NewEngine("", p), Zn: e.znResolver(), Now: e.clk.Now})
	must(t, err, "New")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	e.clk.Add(testSkew + time.Second)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	resp, err := hc.Get(fmt.Sprintf("https://%s/healthz", ln.Addr()))
	must(t, err, "GET over TLS")
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS == nil {
		t.Fatalf("TLS: got %s", resp.Proto)
	}
	alice := e.ue("alice@home1.net")
	c, err := kms.NewClient(kms.ClientConfig{URLs: []string{fmt.Sprintf("https://%s%s", ln.Addr(), kms.DefaultPath)}, FQDN: kmsFQDN,
		Keys: alice.keys.Key, Now: e.clk.Now, HTTPClient: hc, Skew: testSkew})
	must(t, err, "client")
	_, err = c.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags})
	must(t, err, "request over HTTPS/2")
}

// The client moves on to the next KMS on 503 and 429, not on a MIKEY refusal.
func TestClientFailover(t *testing.T) {
	e := newEnv(t, envCfg{})
	busy := func(code int) string {
		s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(code)
		})}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go s.Serve(ln)
		t.Cleanup(func() { s.Close() })
		return "http://" + ln.Addr().String() + kms.DefaultPath
	}
	alice := e.ue("alice@home1.net", busy(http.StatusServiceUnavailable), busy(http.StatusTooManyRequests), e.url)
	requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	// A refusal by the KMS itself is final: no failover past it.
	mallory := e.ue("mallory@home1.net", e.url, busy(http.StatusServiceUnavailable))
	_, err := mallory.kc.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags})
	if ke := kmsErr(t, err); ke.Status != http.StatusForbidden || ke.URL != e.url {
		t.Fatalf("got %v", ke)
	}
	// All down.
	c := e.client([]string{busy(http.StatusServiceUnavailable)}, alice.keys.Key, nil)
	if _, err := c.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags}); err == nil || !strings.Contains(err.Error(), "no KMS answered") {
		t.Fatalf("got %v", err)
	}
	// Context cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := alice.kc.RequestTicket(ctx, kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags}); err == nil {
		t.Fatal("cancelled context accepted")
	}
}

func TestRedaction(t *testing.T) {
	k := kms.ZnKey{Key: []byte{0xde, 0xad, 0xbe, 0xef}, IMPI: "a@b"}
	for _, s := range []string{k.String(), fmt.Sprintf("%v", k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), k.LogValue().String()} {
		if strings.Contains(s, "dead") || strings.Contains(s, "222 173") {
			t.Fatalf("key in %q", s)
		}
	}
}
