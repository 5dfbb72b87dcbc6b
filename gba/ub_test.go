package gba

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testBSF is a minimal BSF for the Ub client tests (G2 writes the real one in gba/bsf): a local
// Milenage AuC, challenges keyed by nonce, auth-int checks with XRES, resync with AUTS, and
// switches for the failure cases.
type testBSF struct {
	t      testing.TB
	m      *Milenage
	realm  string
	domain string
	now    func() time.Time

	mu         sync.Mutex
	sqnHE      uint64
	randCtr    byte
	challenges map[string]AuthVector
	seen       []*Credentials // every Authorization received
	mode       string         // "", "403", "500", "hang", "badxml", "badrspauth", "noauthinfo", "auth-only", "always-stale", "rechallenge-once", "rechallenge-always"
	stale      bool
}

func newTestBSF(t testing.TB, k, opc []byte) *testBSF {
	m, err := NewMilenage(k, opc)
	if err != nil {
		t.Fatal(err)
	}
	return &testBSF{t: t, m: m, realm: "bsf.home1.net", domain: "bsf.home1.net", challenges: map[string]AuthVector{},
		now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
}

func (b *testBSF) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.mode {
	case "403":
		http.Error(w, "subscriber barred", http.StatusForbidden)
		return
	case "500":
		http.Error(w, "HSS unreachable", http.StatusInternalServerError)
		return
	case "hang":
		b.mu.Unlock()
		<-r.Context().Done()
		b.mu.Lock()
		return
	}
	cred, err := ParseCredentials(r.Header.Get("Authorization"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.seen = append(b.seen, cred)
	if cred.Nonce == "" {
		b.challenge(w)
		return
	}
	av, ok := b.challenges[cred.Nonce]
	if !ok {
		http.Error(w, "unknown nonce", http.StatusForbidden)
		return
	}
	delete(b.challenges, cred.Nonce)
	if cred.AUTS != "" {
		auts, err := base64.StdEncoding.DecodeString(cred.AUTS)
		if err != nil || DigestResponse(cred, nil, r.Method, nil) != cred.Response {
			http.Error(w, "bad resync", http.StatusForbidden)
			return
		}
		sqnMS, err := ResyncSQN(b.m, av.RAND, auts)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if b.mode != "always-stale" {
			b.sqnHE = sqnMS
		}
		b.challenge(w)
		return
	}
	if cred.Response == DigestResponse(cred, nil, r.Method, nil) {
		http.Error(w, "network authentication failure reported by the UE", http.StatusForbidden)
		return
	}
	if DigestResponse(cred, av.XRES, r.Method, nil) != cred.Response {
		http.Error(w, "authentication failed", http.StatusForbidden)
		return
	}
	if b.mode == "rechallenge-always" || b.mode == "rechallenge-once" {
		if b.mode == "rechallenge-once" {
			b.mode = ""
		}
		b.stale = true
		b.challenge(w)
		return
	}
	info := &BootstrappingInfo{BTID: BTID(av.RAND, b.domain), Lifetime: b.now().Add(time.Hour)}
	body, err := info.Marshal()
	if err != nil {
		b.t.Error(err)
	}
	if b.mode == "badxml" {
		body = []byte(`<?xml version="1.0"?><BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid>`)
	}
	pw := av.XRES
	if b.mode == "badrspauth" {
		pw = []byte("not XRES")
	}
	ai := &AuthenticationInfo{QOP: cred.QOP, RspAuth: RspAuth(cred, pw, body), CNonce: cred.CNonce, NC: cred.NC}
	if b.mode != "noauthinfo" {
		w.Header().Set("Authentication-Info", ai.String())
	}
	w.Header().Set("Content-Type", BootstrappingInfoContentType)
	w.Write(body)
}

// challenge sends a 401 with a fresh vector: SEQ_HE + 1 with cycling IND (TS 33.102 C.1.2).
func (b *testBSF) challenge(w http.ResponseWriter) {
	b.sqnHE = (b.sqnHE>>5+1)<<5 | (b.sqnHE+1)&31
	b.randCtr++
	rand := bytes.Repeat([]byte{b.randCtr}, 16)
	av, err := GenerateAuthVector(b.m, rand, b.sqnHE, []byte{0x80, 0x00})
	if err != nil {
		b.t.Error(err)
	}
	nonce := AKANonce(av.RAND, av.AUTN, nil)
	b.challenges[nonce] = av
	qop := []string{QOPAuthInt}
	if b.mode == "auth-only" {
		qop = []string{QOPAuth}
	}
	ch := &Challenge{Realm: b.realm, Nonce: nonce, Algorithm: AlgorithmAKAv1MD5, QOP: qop, Opaque: "5ccc069c403ebaf9f0171e9517f30e41", Stale: b.stale}
	b.stale = false
	w.Header().Add("WWW-Authenticate", ch.String())
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

func (b *testBSF) set(mode string) { b.mu.Lock(); b.mode = mode; b.mu.Unlock() }

func (b *testBSF) credentials() []*Credentials {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Credentials(nil), b.seen...)
}

// loopbackServer starts h on 127.0.0.1.
func loopbackServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

type ubFixture struct {
	bsf    *testBSF
	srv    *httptest.Server
	usim   *SoftUSIM
	client *UbClient
}

func newUbFixture(t testing.TB) *ubFixture {
	k, opc, _ := testSubscriber(t)
	bsf := newTestBSF(t, k, opc)
	srv := loopbackServer(t, bsf)
	usim, err := NewSoftUSIM(SoftUSIMConfig{IMPI: chainIMPI, K: k, OPc: opc})
	if err != nil {
		t.Fatal(err)
	}
	c := &UbClient{BSFURL: srv.URL + "/", USIM: usim, Realm: "bsf.home1.net", Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 1024)),
		Clock: bsf.now, HTTPClient: &http.Client{Timeout: 5 * time.Second}}
	return &ubFixture{bsf: bsf, srv: srv, usim: usim, client: c}
}

func TestUbBootstrapSuccess(t *testing.T) {
	f := newUbFixture(t)
	b, err := f.client.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rand := bytes.Repeat([]byte{1}, 16)
	if b.BTID != BTID(rand, "bsf.home1.net") || !bytes.Equal(b.RAND, rand) || b.IMPI != chainIMPI {
		t.Fatalf("bootstrap %v", b)
	}
	_, ck, ik, _, _ := f.bsf.m.F2345(rand)
	if !bytes.Equal(b.Ks, append(ck, ik...)) {
		t.Fatal("Ks is not CK ‖ IK")
	}
	if !b.Lifetime.Equal(f.bsf.now().Add(time.Hour)) {
		t.Fatalf("lifetime %v", b.Lifetime)
	}
	naf := NAFID{FQDN: "kms.home1.net", UaSecProtID: UaSecProtIDKMS()}
	if !bytes.Equal(b.KsNAF(naf), DeriveKsNAF(append(ck, ik...), rand, chainIMPI, naf)) {
		t.Fatal("Ks_NAF differs from the BSF side")
	}
	if s := fmt.Sprintf("%v %+v", b, b); strings.Contains(s, fmt.Sprintf("%x", ck)) {
		t.Fatalf("Bootstrap leaks Ks: %s", s)
	}
	seen := f.bsf.credentials()
	if len(seen) != 2 {
		t.Fatalf("%d requests, want 2", len(seen))
	}
	// TS 24.109 Table A.3-1: initial request with empty nonce and response
	if c := seen[0]; c.Username != chainIMPI || c.Realm != "bsf.home1.net" || c.Nonce != "" || c.Response != "" || c.URI != "/" {
		t.Errorf("initial Authorization %v", c)
	}
	if c := seen[1]; c.QOP != QOPAuthInt || c.NC != "00000001" || c.CNonce != strings.Repeat("07", 16) || c.Algorithm != AlgorithmAKAv1MD5 || c.Opaque == "" {
		t.Errorf("answer %v", c)
	}
	b.Zero()
	if !bytes.Equal(b.Ks, make([]byte, 32)) {
		t.Error("Zero left Ks")
	}
}

func TestUbBootstrapResync(t *testing.T) {
	f := newUbFixture(t)
	if _, err := f.client.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The HE loses its counter (e.g. restored from an old backup): the next AUTN is stale.
	f.bsf.mu.Lock()
	f.bsf.sqnHE = 0
	f.bsf.mu.Unlock()
	b, err := f.client.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := f.bsf.credentials()
	if len(seen) != 5 || seen[3].AUTS == "" || seen[4].AUTS != "" {
		t.Fatalf("requests %v", seen)
	}
	if b.BTID != BTID(bytes.Repeat([]byte{3}, 16), "bsf.home1.net") {
		t.Fatalf("B-TID %s, want the third challenge's RAND", b.BTID)
	}
	// a BSF that never adopts SQN_MS: bounded
	f.bsf.set("always-stale")
	f.bsf.mu.Lock()
	f.bsf.sqnHE = 0
	f.bsf.mu.Unlock()
	if _, err := f.client.Bootstrap(context.Background()); !errors.Is(err, ErrResyncLoop) {
		t.Fatalf("always stale: %v", err)
	}
}

// A BSF may answer a correct response with a new challenge (stale nonce, RFC 2617 §3.2.1): the
// client answers it once; a BSF that keeps doing so is refused.
func TestUbBootstrapRechallenge(t *testing.T) {
	f := newUbFixture(t)
	f.bsf.set("rechallenge-once")
	b, err := f.client.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if seen := f.bsf.credentials(); len(seen) != 3 || b.BTID != BTID(bytes.Repeat([]byte{2}, 16), "bsf.home1.net") {
		t.Fatalf("%d requests, B-TID %s", len(seen), b.BTID)
	}
	f.bsf.set("rechallenge-always")
	if _, err := f.client.Bootstrap(context.Background()); !errors.Is(err, ErrBSFRejected) {
		t.Fatalf("rechallenge always: %v", err)
	}
}

func TestUbBootstrapMACFailure(t *testing.T) {
	f := newUbFixture(t)
	other, _ := NewMilenage(unhex(t, ts35208[1].k), unhex(t, ts35208[1].opc))
	f.bsf.m = other // a BSF without our K: AUTN cannot verify
	_, err := f.client.Bootstrap(context.Background())
	if !errors.Is(err, ErrMACFailure) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("MAC failure: %v", err)
	}
	seen := f.bsf.credentials()
	if len(seen) != 2 || seen[1].Response != DigestResponse(seen[1], nil, "GET", nil) || seen[1].AUTS != "" || seen[1].Nonce == "" {
		t.Fatalf("MAC failure report %v", seen)
	}
}

func TestUbBootstrapErrors(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		want    error
		message string
	}{
		{"403", ErrBSFForbidden, "403 Forbidden \"subscriber barred\""},
		{"500", ErrBSFServer, "500 Internal Server Error \"HSS unreachable\""},
		{"badxml", ErrBSFProtocol, "malformed XML"},
		{"badrspauth", ErrRspAuth, "rspauth does not verify"},
		{"noauthinfo", ErrRspAuth, "without Authentication-Info"},
		{"auth-only", ErrBSFProtocol, "not auth-int"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := newUbFixture(t)
			f.bsf.set(tc.mode)
			_, err := f.client.Bootstrap(context.Background())
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.message)
			}
		})
	}
	t.Run("realm", func(t *testing.T) {
		f := newUbFixture(t)
		f.client.Realm = "other.home1.net"
		if _, err := f.client.Bootstrap(context.Background()); !errors.Is(err, ErrRealm) {
			t.Fatalf("wrong realm: %v", err)
		}
	})
	t.Run("expired lifetime", func(t *testing.T) {
		f := newUbFixture(t)
		f.client.Clock = func() time.Time { return f.bsf.now().Add(2 * time.Hour) }
		if _, err := f.client.Bootstrap(context.Background()); !errors.Is(err, ErrBSFProtocol) || !strings.Contains(err.Error(), "not in the future") {
			t.Fatalf("expired: %v", err)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		f := newUbFixture(t)
		f.client.BSFURL = "ftp://x/"
		if _, err := f.client.Bootstrap(context.Background()); err == nil {
			t.Fatal("ftp URL accepted")
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		f := newUbFixture(t)
		f.srv.Close()
		if _, err := f.client.Bootstrap(context.Background()); err == nil || !strings.Contains(err.Error(), "initial request") {
			t.Fatalf("closed server: %v", err)
		}
	})
}

func TestUbBootstrapTimeouts(t *testing.T) {
	f := newUbFixture(t)
	f.bsf.set("hang")
	f.client.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	_, err := f.client.Bootstrap(context.Background())
	if err == nil || !strings.Contains(err.Error(), "timed out (HTTP client timeout)") {
		t.Fatalf("client timeout: %v", err)
	}
	f.client.HTTPClient = &http.Client{}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = f.client.Bootstrap(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "deadline of the caller's context exceeded") {
		t.Fatalf("context deadline: %v", err)
	}
}
