package bsf

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

// TestBootstrapKnownAnswer runs Ub and Zn over loopback with TS 35.208 set 1 (RAND injected, SQN_HE
// chosen so the AuC issues set 1's SQN) and checks every value against spec digest §9.2, whose
// values were computed there twice (Python and Go crypto/hmac), and the digests again here with
// crypto/md5 alone.
func TestBootstrapKnownAnswer(t *testing.T) {
	sub := set1Subscriber(testIMPI, set1SQNHE)
	rnd := io.MultiReader(bytes.NewReader(append(unhex(set1.rand), bytes.Repeat([]byte{0x5a}, 16)...)),
		rand.NewChaCha8([32]byte{1}))
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, rand: rnd,
		now: time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC)}) // + 12 h = 2030-01-01T00:00:00Z

	resp, _ := e.ubGet(initialAuthz(testIMPI))
	ch := e.challengeOf(resp)
	if ch.Nonce != "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=" {
		t.Errorf("nonce %q, want base64(RAND‖AUTN) of §9.2", ch.Nonce)
	}
	if ch.Realm != testRealm || !strings.EqualFold(ch.Algorithm, "AKAv1-MD5") || len(ch.QOP) != 1 ||
		ch.QOP[0] != "auth-int" || ch.Opaque == "" || ch.Stale {
		t.Errorf("challenge %+v", ch)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}

	res := unhex(set1.res)
	authz := manualAnswer(ch, testIMPI, res, "", nil)
	cred, err := gba.ParseCredentials(authz)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Response != "d47e4afd3245638428c815924bc5bc69" {
		t.Errorf("UE response %s, want §9.2 d47e4afd3245638428c815924bc5bc69", cred.Response)
	}
	resp, body := e.ubGet(authz)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != ContentTypeBSF {
		t.Errorf("Content-Type %q", ct)
	}
	info, err := gba.ParseBootstrappingInfo(body)
	if err != nil {
		t.Fatalf("BootstrappingInfo %s: %v", body, err)
	}
	const btid = "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net"
	expiry := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if info.BTID != btid || !info.Lifetime.Equal(expiry) {
		t.Errorf("BootstrappingInfo %+v", info)
	}
	if got := resp.Header.Get("Expires"); got != "Tue, 01 Jan 2030 00:00:00 GMT" {
		t.Errorf("Expires %q", got)
	}
	ai := authInfo(t, resp.Header.Get("Authentication-Info"))
	want := independentDigest(testIMPI, testRealm, res, "", "/", ch.Nonce, "00000001", "0a4f113b", body)
	if ai["rspauth"] != want || ai["qop"] != "auth-int" || ai["cnonce"] != "0a4f113b" || ai["nc"] != "00000001" {
		t.Errorf("Authentication-Info %v, rspauth want %s", ai, want)
	}
	const specBody = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BootstrappingInfo xmlns=\"uri:3gpp-gba\"><btid>I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net</btid><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>"
	if string(body) != specBody {
		t.Errorf("body %q differs from the §9.2 example", body)
	} else if ai["rspauth"] != "566e6e8d7c69862310bd31c9dadfe46e" {
		t.Errorf("rspauth %s, want §9.2 566e6e8d7c69862310bd31c9dadfe46e", ai["rspauth"])
	}

	// Zn: Ks_NAF for the KMS, spec digest §9.2.
	key, err := e.resolver(testToken).Resolve(context.Background(), btid, kmsNAF)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(key.Key) != "74eb8672becc0b19eccb86f2780cfb0178097e8873944798ab096d69e7351862" ||
		!key.Expiry.Equal(expiry) || key.IMPI != testIMPI {
		t.Errorf("Zn key %x expiry %v impi %s", key.Key, key.Expiry, key.IMPI)
	}

	// The nonce is single-use: the same answer again gets a new challenge, not a second 200.
	resp, _ = e.ubGet(authz)
	if ch2 := e.challengeOf(resp); ch2.Nonce == ch.Nonce {
		t.Error("replayed nonce challenged again with the same nonce")
	}
	if e.metric("bsf_bootstraps_ok_total") != "1" || e.metric("bsf_zn_lookups_ok_total") != "1" {
		t.Error("metrics do not count one bootstrap and one Zn lookup")
	}
}

// bootstrapManual runs Ub with the hand-built UE and returns the B-TID and the UE's Ks_NAF for the
// KMS, derived on the UE side from CK‖IK.
func (e *testEnv) bootstrapManual(sub Subscriber) (string, []byte) {
	e.t.Helper()
	resp, _ := e.ubGet(initialAuthz(sub.IMPI))
	ch := e.challengeOf(resp)
	rnd, res, ck, ik := resOf(e.t, sub, ch.Nonce)
	resp, body := e.ubGet(manualAnswer(ch, sub.IMPI, res, "", nil))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	info, err := gba.ParseBootstrappingInfo(body)
	if err != nil {
		e.t.Fatal(err)
	}
	ks := append(append([]byte(nil), ck...), ik...)
	return info.BTID, gba.DeriveKsNAF(ks, rnd, sub.IMPI, kmsNAF)
}

func TestUbMalformed(t *testing.T) {
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, cfg: func(c *Config) { c.MaxBodyBytes = 1024 }})
	fresh := func() (*gba.Challenge, []byte) {
		resp, _ := e.ubGet(initialAuthz(testIMPI))
		ch := e.challengeOf(resp)
		_, res, _, _ := resOf(t, sub, ch.Nonce)
		return ch, res
	}
	expect := func(name string, authz string, status int) {
		t.Helper()
		resp, body := e.ubGet(authz)
		if resp.StatusCode != status {
			t.Errorf("%s: status %d (%s), want %d", name, resp.StatusCode, bytes.TrimSpace(body), status)
		}
	}
	expect("no Authorization", "", http.StatusBadRequest)
	expect("Basic", "Basic dXNlcjpwYXNz", http.StatusBadRequest)
	expect("garbage", `Digest username="unterminated`, http.StatusBadRequest)
	expect("empty username", `Digest username="", realm="bsf.home1.net", nonce="", uri="/", response=""`, http.StatusBadRequest)
	expect("unknown user", initialAuthz("nobody@home1.net"), http.StatusForbidden)
	expect("MD5 algorithm", `Digest username="`+testIMPI+`", realm="bsf.home1.net", nonce="", uri="/", response="", algorithm=MD5`, http.StatusBadRequest)

	ch, res := fresh()
	expect("wrong realm", manualAnswer(ch, testIMPI, res, "", func(c *gba.Credentials) { c.Realm = "home1.net" }), http.StatusForbidden)
	expect("wrong opaque", manualAnswer(ch, testIMPI, res, "", func(c *gba.Credentials) { c.Opaque = "00" }), http.StatusForbidden)
	// Third failure drops the nonce (MaxAuthFailures 3): the right answer then only gets a new challenge.
	expect("wrong response", manualAnswer(ch, testIMPI, res, "", func(c *gba.Credentials) { c.Response = strings.Repeat("0", 32) }), http.StatusForbidden)
	resp, _ := e.ubGet(manualAnswer(ch, testIMPI, res, "", nil))
	if ch2 := e.challengeOf(resp); ch2.Nonce == ch.Nonce {
		t.Error("nonce survived three failures")
	}

	ch, res = fresh()
	expect("qop auth", manualAnswer(ch, testIMPI, res, "", func(c *gba.Credentials) { c.QOP = "auth" }), http.StatusBadRequest)
	ch, res = fresh()
	expect("bad uri", manualAnswer(ch, testIMPI, res, "", func(c *gba.Credentials) { c.URI = "/other" }), http.StatusBadRequest)
	ch, res = fresh()
	expect("bad nc", manualAnswer(ch, testIMPI, res, "", func(c *gba.Credentials) { c.NC = "1" }), http.StatusBadRequest)
	ch, res = fresh()
	expect("other user", manualAnswer(ch, "other@home1.net", res, "", nil), http.StatusForbidden)
	ch, _ = fresh()
	expect("bad auts", manualAnswer(ch, testIMPI, nil, "!!notbase64", nil), http.StatusBadRequest)
	ch, _ = fresh()
	expect("short auts", manualAnswer(ch, testIMPI, nil, "AAAA", nil), http.StatusBadRequest)
	ch, _ = fresh()
	expect("auts wrong MAC-S", manualAnswer(ch, testIMPI, nil, "uuF0E1vbfnwjQ+tZIHs=", nil), http.StatusForbidden)
	ch, res = fresh()
	expect("auts with RES password", manualAnswer(ch, testIMPI, res, "uuF0E1vbfnwjQ+tZIHs=", nil), http.StatusForbidden)

	// Oversize body and wrong method.
	req, _ := http.NewRequest(http.MethodGet, e.ubURL+"/", strings.NewReader(strings.Repeat("x", 2000)))
	req.Header.Set("Authorization", initialAuthz(testIMPI))
	if resp, err := e.ubHTTP.Do(req); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := e.ubHTTP.Post(e.ubURL+"/", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// After all that, an honest UE still bootstraps.
	btid, _ := e.bootstrapManual(sub)
	if !strings.HasSuffix(btid, "@"+testRealm) {
		t.Errorf("B-TID %s", btid)
	}
}

func TestUbStaleNonce(t *testing.T) {
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, cfg: func(c *Config) { c.NonceLifetime = time.Minute }})
	resp, _ := e.ubGet(initialAuthz(testIMPI))
	ch := e.challengeOf(resp)
	_, res, _, _ := resOf(t, sub, ch.Nonce)
	e.clk.Add(2 * time.Minute)
	resp, _ = e.ubGet(manualAnswer(ch, testIMPI, res, "", nil))
	ch2 := e.challengeOf(resp)
	if !ch2.Stale || ch2.Nonce == ch.Nonce {
		t.Fatalf("late right answer: stale=%v, same nonce %v", ch2.Stale, ch2.Nonce == ch.Nonce)
	}
	_, res2, _, _ := resOf(t, sub, ch2.Nonce)
	if resp, body := e.ubGet(manualAnswer(ch2, testIMPI, res2, "", nil)); resp.StatusCode != http.StatusOK {
		t.Fatalf("after stale: %d %s", resp.StatusCode, body)
	}
}

func TestZnErrors(t *testing.T) {
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, cfg: func(c *Config) { c.MaxBodyBytes = 512 }})
	btid, ueKey := e.bootstrapManual(sub)
	ctx := context.Background()

	post := func(name, token, ctype, body string, status int, cause string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.znURL+zn.RetrievalPath, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := e.znHTTP.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Errorf("%s: status %d (%s), want %d", name, resp.StatusCode, b, status)
			return
		}
		if status == http.StatusOK {
			return
		}
		if resp.Header.Get("Content-Type") != zn.ContentTypeProblem {
			t.Errorf("%s: Content-Type %q", name, resp.Header.Get("Content-Type"))
		}
		p, err := zn.ParseProblemDetails(b)
		if err != nil || p.Status != status || (cause != "" && p.Cause != cause) {
			t.Errorf("%s: problem %+v %v", name, p, err)
		}
	}
	good := `{"btId":"` + btid + `","nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"}}`
	post("ok", testToken, "application/json", good, 200, "")
	post("no token", "", "application/json", good, 401, "UNAUTHENTICATED")
	post("wrong token", "test-zn-token-0123456788", "application/json", good, 401, "UNAUTHENTICATED")
	post("bad json", testToken, "application/json", `{"btId":`, 400, "INVALID_MSG_FORMAT")
	post("no nafId", testToken, "application/json", `{"btId":"`+btid+`"}`, 400, "INVALID_MSG_FORMAT")
	post("content type", testToken, "text/plain", good, 415, "UNSUPPORTED_MEDIA_TYPE")
	post("oversize", testToken, "application/json", `{"btId":"`+strings.Repeat("a", 600)+`"}`, 413, "")
	post("unknown", testToken, "application/json", strings.Replace(good, btid, "AAAA@bsf.home1.net", 1), 404, zn.CauseBTIDNotFound)

	req, _ := http.NewRequest(http.MethodGet, e.znURL+zn.RetrievalPath, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := e.znHTTP.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	k, err := e.resolver(testToken).Resolve(ctx, btid, kmsNAF)
	if err != nil || !bytes.Equal(k.Key, ueKey) {
		t.Fatalf("Zn key differs from the UE's: %v", err)
	}
	// A NAF_Id with another Ua security protocol id gets another key (TS 33.220 Annex H).
	other := kmsNAF
	other.UaSecProtID = [5]byte{1, 0, 0, 0, 2}
	k2, err := e.resolver(testToken).Resolve(ctx, btid, other)
	if err != nil || bytes.Equal(k2.Key, k.Key) {
		t.Fatalf("NAF_Id not bound into Ks_NAF: %v", err)
	}
	if _, err := e.resolver("wrong-token-0123456789").Resolve(ctx, btid, kmsNAF); err == nil || errors.Is(err, zn.ErrUnknownBTID) {
		t.Fatalf("wrong token: %v", err)
	}

	// Expiry: after the key lifetime the B-TID is gone and the UE has to bootstrap again.
	e.clk.Add(12*time.Hour + time.Second)
	if _, err := e.resolver(testToken).Resolve(ctx, btid, kmsNAF); !errors.Is(err, zn.ErrUnknownBTID) {
		t.Fatalf("expired B-TID: %v", err)
	}
	btid2, ueKey2 := e.bootstrapManual(sub)
	if btid2 == btid {
		t.Fatal("same B-TID after re-bootstrap")
	}
	if k, err := e.resolver(testToken).Resolve(ctx, btid2, kmsNAF); err != nil || !bytes.Equal(k.Key, ueKey2) {
		t.Fatalf("after re-bootstrap: %v", err)
	}
	if e.metric("bsf_zn_lookups_not_found_total") != "2" || e.metric("bsf_zn_unauthorized_total") != "3" {
		t.Error("Zn metrics")
	}
}

func TestNewChecks(t *testing.T) {
	auc, _ := NewAuC([]Subscriber{set1Subscriber(testIMPI, 0)}, "")
	base := Config{Realm: testRealm, Domain: testRealm, KeyLifetime: time.Hour, ZnBearerTokens: []string{testToken}}
	for name, mod := range map[string]func(*Config){
		"realm":    func(c *Config) { c.Realm = "" },
		"domain":   func(c *Config) { c.Domain = "a@b" },
		"lifetime": func(c *Config) { c.KeyLifetime = 0 },
		"zn open":  func(c *Config) { c.ZnBearerTokens = nil },
		"short":    func(c *Config) { c.ZnBearerTokens = []string{"x"} },
	} {
		c := base
		mod(&c)
		if _, err := New(c, auc, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(base, nil, Options{}); err == nil {
		t.Error("nil AuC accepted")
	}
}
