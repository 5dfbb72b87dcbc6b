package registrar

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// akaChallenge decodes an AKA challenge in the test: nonce = base64(RAND ‖ AUTN) (RFC 3310 §3.2),
// and runs the USIM checks with the Milenage outputs of package gba (verified there against TS
// 35.208): SQN = (SQN ⊕ AK) ⊕ AK, MAC-A = f1.
func akaChallenge(t *testing.T, ch *gba.Challenge) (rand []byte, sqn uint64, res, ck, ik []byte) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(ch.Nonce)
	if err != nil || len(raw) != 32 {
		t.Fatalf("AKA nonce %q: %v, %d octets", ch.Nonce, err, len(raw))
	}
	rand, autn := raw[:16], raw[16:32]
	m, err := gba.NewMilenage(set1K, set1OPc)
	if err != nil {
		t.Fatal(err)
	}
	res, ck, ik, ak, err := m.F2345(rand)
	if err != nil {
		t.Fatal(err)
	}
	sqnB := make([]byte, 6)
	for i := range sqnB {
		sqnB[i] = autn[i] ^ ak[i]
		sqn = sqn<<8 | uint64(sqnB[i])
	}
	macA, _, err := m.F1(rand, sqnB, autn[6:8])
	if err != nil {
		t.Fatal(err)
	}
	if !hmac.Equal(macA, autn[8:16]) {
		t.Fatalf("AUTN MAC-A does not verify")
	}
	return rand, sqn, res, ck, ik
}

// md5Hex is MD5 over the colon-joined parts, hex, from crypto/md5 only.
func md5Hex(parts ...string) string {
	h := md5.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte(":"))
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// akaAuthorization computes the Authorization for an AKA challenge independently of digest.go:
// RFC 2617 request-digest with the password given, over an empty body for auth-int.
func akaAuthorization(ch *gba.Challenge, impi string, password []byte, qop, auts string) string {
	uri := "sip:" + testDomain
	ha1 := md5Hex(impi, ch.Realm, string(password))
	ha2 := md5Hex("REGISTER", uri)
	if qop == "auth-int" {
		ha2 = md5Hex("REGISTER", uri, md5Hex(""))
	}
	resp := md5Hex(ha1, ch.Nonce, "00000001", "aka-cnonce", qop, ha2)
	s := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=%s, nc=00000001, cnonce="aka-cnonce"`,
		impi, ch.Realm, ch.Nonce, uri, resp, ch.Algorithm, qop)
	if auts != "" {
		s += `, auts="` + auts + `"`
	}
	return s
}

// initialAKARegister sends the TS 24.229 initial REGISTER (Authorization with the IMPI and empty
// nonce/response) and returns the request and the AKA challenge.
func initialAKARegister(t *testing.T, ua *testUA, impu, impi, alg string) (*sip.Request, *gba.Challenge) {
	t.Helper()
	req := ua.newRegister(impu, 600000)
	algParam := ""
	if alg != "" {
		algParam = ", algorithm=" + alg
	}
	req.AppendHeader(sip.NewHeader("Authorization", fmt.Sprintf(
		`Digest username="%s", realm="%s", uri="sip:%s", nonce="", response=""%s`, impi, testDomain, testDomain, algParam)))
	res := ua.send(req)
	if res.StatusCode != 401 {
		t.Fatalf("initial AKA REGISTER: %d, want 401", res.StatusCode)
	}
	want := alg
	if want == "" {
		want = gba.AlgorithmAKAv1MD5
	}
	ch := pickChallenge(t, res, "WWW-Authenticate", want)
	if !ch.HasQOP("auth") || !ch.HasQOP("auth-int") {
		t.Errorf("AKA challenge qop %v, want auth and auth-int", ch.QOP)
	}
	return req, ch
}

func TestRegisterAKAv1(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "ue1", "udp")
	req, ch := initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	_, sqn, res, _, _ := akaChallenge(t, ch)
	if sqn <= 0x20 {
		t.Errorf("SQN %#x not above the AuC's initial 0x20", sqn)
	}
	// RFC 3310 §3.3: the password is RES as raw octets.
	r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", res, "auth", ""))
	if r.StatusCode != 200 {
		t.Fatalf("AKAv1-MD5 REGISTER: %d %s", r.StatusCode, r.Reason)
	}
	// 600000 asked (TS 24.229), the default MaxExpires granted.
	if got := contactExpires(t, r)[ua.contact.Address.HostPort()]; got != "7200" {
		t.Errorf("granted %q, want 7200", got)
	}
	// rspauth is computed from XRES (= RES): check it independently.
	ai, err := gba.ParseAuthenticationInfo(r.GetHeader("Authentication-Info").Value())
	if err != nil {
		t.Fatal(err)
	}
	want := md5Hex(md5Hex("ue1@ims.home1.net", testDomain, string(res)), ch.Nonce, "00000001", "aka-cnonce", "auth", md5Hex("", "sip:"+testDomain))
	if ai.RspAuth != want {
		t.Errorf("rspauth %s, want %s", ai.RspAuth, want)
	}
}

func TestRegisterAKAv2AuthInt(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "ue2", "tcp")
	req, ch := initialAKARegister(t, ua, "sip:ue2@home1.net", "ue2@ims.home1.net", gba.AlgorithmAKAv2MD5)
	_, _, res, ck, ik := akaChallenge(t, ch)
	// RFC 4169 §3: password = base64(HMAC-MD5(key = RES ‖ IK ‖ CK, "http-digest-akav2-password")).
	mac := hmac.New(md5.New, append(append(append([]byte{}, res...), ik...), ck...))
	mac.Write([]byte("http-digest-akav2-password"))
	pw := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue2@ims.home1.net", pw, "auth-int", ""))
	if r.StatusCode != 200 {
		t.Fatalf("AKAv2-MD5 REGISTER: %d %s", r.StatusCode, r.Reason)
	}
	// The AKAv1 password would not have worked.
	req2, ch2 := initialAKARegister(t, ua, "sip:ue2@home1.net", "ue2@ims.home1.net", gba.AlgorithmAKAv2MD5)
	_, _, res2, _, _ := akaChallenge(t, ch2)
	if r := ua.retry(req2, "Authorization", akaAuthorization(ch2, "ue2@ims.home1.net", res2, "auth-int", "")); r.StatusCode != 403 {
		t.Fatalf("AKAv2 challenge answered with the AKAv1 password: %d, want 403", r.StatusCode)
	}
}

func TestRegisterAKAResync(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "ue1", "udp")
	req, ch := initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	rand, _, _, _, _ := akaChallenge(t, ch)
	m, _ := gba.NewMilenage(set1K, set1OPc)
	const sqnMS = 0x4000
	auts, err := gba.ComputeAUTS(m, rand, sqnMS)
	if err != nil {
		t.Fatal(err)
	}
	// A corrupted AUTS (MAC-S wrong) is refused.
	bad := append([]byte(nil), auts...)
	bad[13] ^= 1
	r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", nil, "auth", base64.StdEncoding.EncodeToString(bad)))
	if r.StatusCode != 403 {
		t.Fatalf("bad AUTS: %d, want 403", r.StatusCode)
	}
	req, ch = initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	rand, _, _, _, _ = akaChallenge(t, ch)
	auts, _ = gba.ComputeAUTS(m, rand, sqnMS)
	// RFC 3310 §3.4: auts with the response over an empty password; the server resyncs and
	// re-challenges.
	r = ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", nil, "auth", base64.StdEncoding.EncodeToString(auts)))
	if r.StatusCode != 401 {
		t.Fatalf("resync: %d, want 401", r.StatusCode)
	}
	ch = pickChallenge(t, r, "WWW-Authenticate", gba.AlgorithmAKAv1MD5)
	_, sqn, res, _, _ := akaChallenge(t, ch)
	if sqn <= sqnMS {
		t.Fatalf("SQN after resync %#x, want above SQN_MS %#x", sqn, sqnMS)
	}
	if r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", res, "auth", "")); r.StatusCode != 200 {
		t.Fatalf("after resync: %d, want 200", r.StatusCode)
	}
}

func TestRegisterAKAFailures(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "ue1", "udp")
	// Wrong RES.
	req, ch := initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	_, _, res, _, _ := akaChallenge(t, ch)
	res[0] ^= 0xff
	if r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", res, "auth", "")); r.StatusCode != 403 {
		t.Errorf("wrong RES: %d, want 403", r.StatusCode)
	}
	// The UE's answer to a MAC failure: empty password, no auts.
	req, ch = initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	if r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", nil, "auth", "")); r.StatusCode != 403 {
		t.Errorf("MAC failure answer: %d, want 403", r.StatusCode)
	}
	// A qop the challenge did not offer.
	req, ch = initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	_, _, res, _, _ = akaChallenge(t, ch)
	if r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", res, "auth-conf", "")); r.StatusCode != 400 {
		t.Errorf("qop auth-conf: %d, want 400", r.StatusCode)
	}
	if n := len(core.srv.Location().Lookup("sip:ue1@home1.net")); n != 0 {
		t.Errorf("%d bindings after failures", n)
	}
}

// TestRegisterAKAWithSoftUSIM runs the project's own UE-side digest client (gba.DigestAKAClient
// over a SoftUSIM) against the registrar, as the UA will.
func TestRegisterAKAWithSoftUSIM(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "ue1", "udp")
	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: "ue1@ims.home1.net", K: set1K, OPc: set1OPc})
	if err != nil {
		t.Fatal(err)
	}
	defer usim.Close()
	cl := &gba.DigestAKAClient{USIM: usim}
	req, ch := initialAKARegister(t, ua, "sip:ue1@home1.net", "ue1@ims.home1.net", "")
	ans, err := cl.Answer(t.Context(), ch, "REGISTER", "sip:"+testDomain, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ans.Zero()
	if r := ua.retry(req, "Authorization", ans.Credentials.String()); r.StatusCode != 200 {
		t.Fatalf("SoftUSIM REGISTER: %d %s", r.StatusCode, r.Reason)
	}
}
