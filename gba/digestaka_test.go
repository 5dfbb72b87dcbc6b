package gba

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// akaFixture: a SoftUSIM with TS 35.208 set 1 and a challenge for SQN (SEQ 1, IND 0).
func akaFixture(t *testing.T, alg string, qop []string) (*DigestAKAClient, *Challenge, AuthVector) {
	k, opc, auc := testSubscriber(t)
	u, err := NewSoftUSIM(SoftUSIMConfig{IMPI: chainIMPI, K: k, OPc: opc})
	if err != nil {
		t.Fatal(err)
	}
	av, _ := GenerateAuthVector(auc, unhex(t, chainRAND), seqind(1, 0), []byte{0x80, 0})
	ch := &Challenge{Realm: "home1.net", Nonce: AKANonce(av.RAND, av.AUTN, []byte("srv")), Algorithm: alg, QOP: qop, Opaque: "op"}
	c := &DigestAKAClient{USIM: u, Realm: "home1.net", Rand: bytes.NewReader(unhex(t, "0a4f113b0a4f113b0a4f113b0a4f113b"))}
	return c, ch, av
}

func TestDigestAKAv1RegisterAuth(t *testing.T) {
	// IMS REGISTER shape (TS 24.229): qop "auth,auth-int" offered, body empty → auth-int chosen.
	c, ch, av := akaFixture(t, AlgorithmAKAv1MD5, []string{QOPAuth, QOPAuthInt})
	a, err := c.Answer(context.Background(), ch, "REGISTER", "sip:home1.net", nil, 1)
	if err != nil || a.Outcome != AKASuccess {
		t.Fatalf("%v %v", a, err)
	}
	cr := a.Credentials
	if cr.QOP != QOPAuthInt || cr.NC != "00000001" || cr.CNonce != "0a4f113b0a4f113b0a4f113b0a4f113b" || cr.Opaque != "op" || cr.Username != chainIMPI {
		t.Fatalf("credentials %v", cr)
	}
	// independent check of response with RES = XRES of the AuC, written out with crypto/md5
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	want := h(h(chainIMPI+":home1.net:"+string(av.XRES)) + ":" + ch.Nonce + ":00000001:" + cr.CNonce + ":auth-int:" + h("REGISTER:sip:home1.net:"+h("")))
	if cr.Response != want || !bytes.Equal(a.Password, av.XRES) {
		t.Fatalf("response %s, want %s", cr.Response, want)
	}
	if strings.Contains(a.String(), hex.EncodeToString(av.XRES)) {
		t.Fatal("answer String leaks RES")
	}
	a.Zero()
	if !bytes.Equal(a.Password, make([]byte, len(a.Password))) || !bytes.Equal(a.Result.CK, make([]byte, 16)) {
		t.Fatal("Zero")
	}
}

func TestDigestAKAv2(t *testing.T) {
	c, ch, av := akaFixture(t, "akav2-md5", []string{QOPAuth})
	a, err := c.Answer(context.Background(), ch, "GET", "/", nil, 2)
	if err != nil || a.Outcome != AKASuccess {
		t.Fatalf("%v %v", a, err)
	}
	if got, want := string(a.Password), string(AKAv2Password(av.XRES, av.IK, av.CK)); got != want {
		t.Fatalf("AKAv2 password %s, want %s", got, want)
	}
	if a.Credentials.QOP != QOPAuth || a.Credentials.NC != "00000002" || a.Credentials.Algorithm != "akav2-md5" {
		t.Fatalf("%v", a.Credentials)
	}
	if a.Credentials.Response != DigestResponse(a.Credentials, a.Password, "GET", nil) {
		t.Fatal("response not over the AKAv2 password")
	}
}

func TestDigestAKANoQOP(t *testing.T) {
	c, ch, av := akaFixture(t, AlgorithmAKAv1MD5, nil)
	a, err := c.Answer(context.Background(), ch, "REGISTER", "sip:home1.net", nil, 1)
	if err != nil || a.Credentials.QOP != "" || a.Credentials.CNonce != "" || a.Credentials.NC != "" {
		t.Fatalf("%v %v", a, err)
	}
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	if want := h(h(chainIMPI+":home1.net:"+string(av.XRES)) + ":" + ch.Nonce + ":" + h("REGISTER:sip:home1.net")); a.Credentials.Response != want {
		t.Fatal("RFC 2069 response")
	}
}

func TestDigestAKASyncAndMACFailure(t *testing.T) {
	c, ch, av := akaFixture(t, AlgorithmAKAv1MD5, []string{QOPAuthInt})
	if _, err := c.Answer(context.Background(), ch, "GET", "/", nil, 1); err != nil {
		t.Fatal(err)
	}
	c.Rand = bytes.NewReader(make([]byte, 16))
	a, err := c.Answer(context.Background(), ch, "GET", "/", nil, 1) // replayed nonce
	if err != nil || a.Outcome != AKASyncFailure || a.Password != nil || a.Result != nil {
		t.Fatalf("%v %v", a, err)
	}
	auts, err := base64.StdEncoding.DecodeString(a.Credentials.AUTS)
	if err != nil || len(auts) != 14 {
		t.Fatalf("auts %q", a.Credentials.AUTS)
	}
	_, _, auc := testSubscriber(t)
	if sqn, err := ResyncSQN(auc, av.RAND, auts); err != nil || sqn != seqind(1, 0) {
		t.Fatalf("AUTS → %x %v", sqn, err)
	}
	if a.Credentials.Response != DigestResponse(a.Credentials, []byte{}, "GET", nil) {
		t.Fatal("resync response is not over the empty password")
	}

	// MAC failure: corrupt AUTN in the nonce
	raw, _ := base64.StdEncoding.DecodeString(ch.Nonce)
	raw[31] ^= 1
	ch.Nonce = base64.StdEncoding.EncodeToString(raw)
	c.Rand = bytes.NewReader(make([]byte, 16))
	a, err = c.Answer(context.Background(), ch, "GET", "/", nil, 1)
	if err != nil || a.Outcome != AKAMACFailure || a.Credentials.AUTS != "" || a.Result != nil || a.Password != nil {
		t.Fatalf("MAC failure: %v %v", a, err)
	}
	// independent: RFC 2617 response over the empty password, written out with crypto/md5
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	cr := a.Credentials
	want := h(h(chainIMPI+":home1.net:") + ":" + cr.Nonce + ":" + cr.NC + ":" + cr.CNonce + ":auth-int:" + h("GET:/:"+h("")))
	if cr.Response != want || strings.Contains(cr.String(), "auts") {
		t.Fatalf("MAC failure report %s", cr)
	}
}

func TestDigestAKAErrors(t *testing.T) {
	ctx := context.Background()
	c, ch, _ := akaFixture(t, AlgorithmAKAv1MD5, []string{QOPAuthInt})
	bad := *ch
	bad.Realm = "evil.net"
	if _, err := c.Answer(ctx, &bad, "GET", "/", nil, 1); !errors.Is(err, ErrRealm) || !strings.Contains(err.Error(), `"evil.net"`) {
		t.Errorf("realm: %v", err)
	}
	bad = *ch
	bad.Algorithm = "MD5"
	if _, err := c.Answer(ctx, &bad, "GET", "/", nil, 1); err == nil || !strings.Contains(err.Error(), `"MD5"`) {
		t.Errorf("algorithm: %v", err)
	}
	bad = *ch
	bad.Nonce = "%%%"
	if _, err := c.Answer(ctx, &bad, "GET", "/", nil, 1); err == nil || !strings.Contains(err.Error(), "not base64") {
		t.Errorf("nonce: %v", err)
	}
	bad.Nonce = base64.StdEncoding.EncodeToString(make([]byte, 31))
	if _, err := c.Answer(ctx, &bad, "GET", "/", nil, 1); err == nil || !strings.Contains(err.Error(), "31 octets") {
		t.Errorf("short nonce: %v", err)
	}
	bad = *ch
	bad.QOP = []string{"auth-conf"}
	if _, err := c.Answer(ctx, &bad, "GET", "/", nil, 1); err == nil || !strings.Contains(err.Error(), "no supported qop") {
		t.Errorf("qop: %v", err)
	}
	c.Rand = bytes.NewReader(nil)
	if _, err := c.Answer(ctx, ch, "GET", "/", nil, 1); !errors.Is(err, io.EOF) {
		t.Errorf("cnonce source: %v", err)
	}
	c.Realm = "" // any realm
	c.Rand = nil
	bad = *ch
	bad.Realm = "other.net"
	if a, err := c.Answer(ctx, &bad, "GET", "/", nil, 1); err != nil || a.Credentials.Realm != "other.net" || len(a.Credentials.CNonce) != 32 {
		t.Errorf("any realm: %v %v", a, err)
	}
	if _, err := (&DigestAKAClient{}).Answer(ctx, ch, "GET", "/", nil, 1); err == nil {
		t.Error("no USIM accepted")
	}
}

func TestAuthenticationInfo(t *testing.T) {
	// TS 24.109 Table A.3-6 style
	h := `qop=auth-int, rspauth="6629fae49394a05397450978507c4ef1", cnonce="6629fae49393a05397450978507c4ef1", nc=00000001, opaque="5ccc069c403ebaf9f0171e9517f30e41", nonce="x"`
	ai, err := ParseAuthenticationInfo(h)
	if err != nil {
		t.Fatal(err)
	}
	if ai.QOP != "auth-int" || ai.RspAuth != "6629fae49394a05397450978507c4ef1" || ai.NC != "00000001" || len(ai.Extra) != 2 {
		t.Fatalf("%+v", ai)
	}
	ai2, err := ParseAuthenticationInfo(ai.String())
	if err != nil || ai2.RspAuth != ai.RspAuth || ai2.CNonce != ai.CNonce || len(ai2.Extra) != 2 {
		t.Fatalf("round trip %q: %+v %v", ai.String(), ai2, err)
	}
	if _, err := ParseAuthenticationInfo(`rspauth="x`); err == nil || !strings.Contains(err.Error(), "offset 8") {
		t.Fatalf("unterminated: %v", err)
	}
}
