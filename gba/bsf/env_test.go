package bsf

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

const (
	testRealm  = "bsf.home1.net"
	testIMPI   = "user1_private@home1.net"
	testToken  = "test-zn-token-0123456789"
	testMethod = http.MethodGet
)

var kmsNAF = gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: [5]byte{1, 0, 0, 0, 6}}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type envOpts struct {
	subs      []Subscriber
	statePath string
	rand      io.Reader
	now       time.Time
	cfg       func(*Config)
}

type testEnv struct {
	t      testing.TB
	clk    *fakeClock
	srv    *Server
	auc    *AuC
	ubURL  string
	znURL  string
	ubHTTP *http.Client
	znHTTP *http.Client
	stop   func()

	mu        sync.Mutex
	resolvers []*zn.HTTPResolver
}

// startBSF runs a Server on two 127.0.0.1:0 listeners until the test ends, and checks that it
// shuts down cleanly.
func startBSF(t testing.TB, o envOpts) *testEnv {
	t.Helper()
	if o.subs == nil {
		o.subs = []Subscriber{set1Subscriber(testIMPI, 0x20)}
	}
	if o.now.IsZero() {
		o.now = time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC)
	}
	if o.rand == nil {
		o.rand = rand.NewChaCha8([32]byte{'b', 's', 'f'})
	}
	auc, err := NewAuC(o.subs, o.statePath)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: o.now}
	cfg := Config{Realm: testRealm, Domain: testRealm, KeyLifetime: 12 * time.Hour, ZnBearerTokens: []string{testToken},
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := New(cfg, auc, Options{Now: clk.Now, Rand: o.rand})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	znl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ub, znl) }()
	scheme := func(c *tls.Config) string {
		if c != nil {
			return "https"
		}
		return "http"
	}
	e := &testEnv{t: t, clk: clk, srv: srv, auc: auc,
		ubURL:  scheme(cfg.UbTLS) + "://" + ub.Addr().String(),
		znURL:  scheme(cfg.ZnTLS) + "://" + znl.Addr().String(),
		ubHTTP: &http.Client{Timeout: 5 * time.Second},
		znHTTP: &http.Client{Timeout: 5 * time.Second}}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			// Kept-alive client connections would hold up the graceful shutdown.
			e.ubHTTP.CloseIdleConnections()
			e.znHTTP.CloseIdleConnections()
			for _, r := range e.resolvers {
				r.CloseIdleConnections()
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Serve did not return after cancel")
			}
		})
	}
	t.Cleanup(e.stop)
	return e
}

func (e *testEnv) resolver(token string) *zn.HTTPResolver {
	r, err := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: e.znURL, BearerToken: token, Transport: e.znHTTP.Transport})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.resolvers = append(e.resolvers, r)
	e.mu.Unlock()
	return r
}

// ubGet sends one Ub request with the given Authorization value (none if empty).
func (e *testEnv) ubGet(authz string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(testMethod, e.ubURL+"/", nil)
	req.Header.Set("User-Agent", "Bootstrapping Client Agent; Release-6")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := e.ubHTTP.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func initialAuthz(impi string) string {
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="", uri="/", response=""`, impi, testRealm)
}

// challengeOf checks a 401 and returns its challenge.
func (e *testEnv) challengeOf(resp *http.Response) *gba.Challenge {
	e.t.Helper()
	if resp.StatusCode != http.StatusUnauthorized {
		e.t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	ch, err := gba.ParseChallenge(resp.Header.Get("WWW-Authenticate"))
	if err != nil {
		e.t.Fatalf("WWW-Authenticate %q: %v", resp.Header.Get("WWW-Authenticate"), err)
	}
	return ch
}

// manualAnswer builds the Digest answer of TS 24.109 A.4 by hand from the primitives of package
// gba (a UE without the Ub client): password = RES octets (RFC 3310), or empty with auts.
func manualAnswer(ch *gba.Challenge, impi string, password []byte, auts string, mod func(*gba.Credentials)) string {
	c := &gba.Credentials{Username: impi, Realm: ch.Realm, Nonce: ch.Nonce, URI: "/", QOP: "auth-int",
		NC: "00000001", CNonce: "0a4f113b", Opaque: ch.Opaque, Algorithm: "AKAv1-MD5", AUTS: auts}
	c.Response = gba.DigestResponse(c, password, testMethod, nil)
	if mod != nil {
		mod(c)
	}
	return c.String()
}

// resOf runs f2 of Milenage for the RAND in a nonce (no SQN check: the manual UE only needs RES).
func resOf(t testing.TB, s Subscriber, nonce string) (rnd, res, ck, ik []byte) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 32 {
		t.Fatalf("nonce %q: %d octets, %v", nonce, len(raw), err)
	}
	res, ck, ik, _, err = milenageOf(t, s).F2345(raw[:16])
	if err != nil {
		t.Fatal(err)
	}
	return raw[:16], res, ck, ik
}

func md5hex(parts ...[]byte) string {
	h := md5.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte(":"))
		}
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// independentDigest is RFC 2617 §3.2.2 with qop=auth-int written out with crypto/md5 only, as a
// second computation beside package gba.
func independentDigest(user, realm string, password []byte, method, uri, nonce, nc, cnonce string, body []byte) string {
	ha1 := md5hex([]byte(user), []byte(realm), password)
	ha2 := md5hex([]byte(method), []byte(uri), []byte(md5hex(body)))
	return md5hex([]byte(ha1), []byte(nonce), []byte(nc), []byte(cnonce), []byte("auth-int"), []byte(ha2))
}

// authInfo splits an Authentication-Info value into its directives.
func authInfo(t testing.TB, v string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			t.Fatalf("Authentication-Info %q: directive %q without '='", v, part)
		}
		out[k] = strings.Trim(val, `"`)
	}
	return out
}

func (e *testEnv) metric(name string) string {
	e.t.Helper()
	resp, err := e.znHTTP.Get(e.znURL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == name {
			return v
		}
	}
	e.t.Fatalf("metric %s missing in %s", name, b)
	return ""
}

func milenageOf(t testing.TB, s Subscriber) *gba.Milenage {
	t.Helper()
	m, err := gba.NewMilenage(s.K, s.OPc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
