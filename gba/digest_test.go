package gba

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	// TS 24.109 A.4 style, with a comma inside the quoted qop and odd case/whitespace.
	h := `digest REALM="bsf.home1.net",nonce="` + chainNonce + `" ,  algorithm=AKAv1-MD5, qop="auth,auth-int", opaque="5ccc,069c", stale=TRUE, foo=bar, x="a\"b"`
	c, err := ParseChallenge(h)
	if err != nil {
		t.Fatal(err)
	}
	want := &Challenge{Realm: "bsf.home1.net", Nonce: chainNonce, Algorithm: "AKAv1-MD5", QOP: []string{"auth", "auth-int"},
		Opaque: "5ccc,069c", Stale: true, Extra: []Param{{"foo", "bar", false}, {"x", `a"b`, true}}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if !c.HasQOP("AUTH-INT") || c.HasQOP("auth-conf") {
		t.Error("HasQOP")
	}
	c2, err := ParseChallenge(c.String())
	if err != nil || !reflect.DeepEqual(c, c2) {
		t.Fatalf("round trip %q: %+v %v", c.String(), c2, err)
	}
	// unquoted values, including a base64 nonce with '/' and '=' as some servers send it
	c, err = ParseChallenge(`Digest realm=home1.net, nonce=` + chainNonce + `, qop=auth-int`)
	if err != nil || c.Nonce != chainNonce || c.Realm != "home1.net" || !reflect.DeepEqual(c.QOP, []string{"auth-int"}) {
		t.Fatalf("unquoted: %+v %v", c, err)
	}
}

func TestParseChallengeErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "missing auth-scheme at offset 0"},
		{`Basic realm="x"`, `"Basic" at offset 0 is not Digest`},
		{`Digest realm="x`, "unterminated quoted value of \"realm\" starting at offset 13"},
		{`Digest realm="x", nonce`, `parameter "nonce" at offset 18 has no '='`},
		{`Digest realm="x", nonce=`, `parameter "nonce" at offset 24 has an empty or invalid value`},
		{`Digest realm="x" nonce="y"`, `expected ',' after parameter "realm" at offset 17`},
		{`Digest realm="x", realm="y", nonce=""`, `duplicate parameter "realm" at offset 18`},
		{`Digest nonce="y"`, "realm missing"},
		{`Digest realm="y"`, "nonce missing"},
		{`Digest realm="y", nonce="", stale=maybe`, `stale="maybe"`},
		{`Digest realm="y", nonce="", qop=","`, "qop has no options"},
		{`Digest realm="y", nonce="", (="x"`, "expected parameter name at offset 28"},
		{`Digest, realm="y"`, `unexpected ',' after auth-scheme at offset 6`},
	} {
		_, err := ParseChallenge(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseChallenge(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	// TS 24.109 Table A.3-1: the initial request with empty nonce and response
	init := `Digest username="user1_private@home1.net", realm="bsf.home1.net", nonce="", uri="/", response=""`
	c, err := ParseCredentials(init)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != chainIMPI || c.Realm != chainBSF || c.Nonce != "" || c.URI != "/" || c.Response != "" {
		t.Fatalf("%+v", c)
	}
	if c.String() != init {
		t.Errorf("String = %q, want %q", c.String(), init)
	}
	// TS 24.109 Table A.4-1 style answer with auts
	h := `Digest username="user1_private@home1.net", realm="bsf.home1.net", nonce="` + chainNonce +
		`", uri="/", qop=auth-int, nc=00000001, cnonce="0a4f113b", response="1d73ea14d997bda5a5f27a0d4e0a1cb3", opaque="x", algorithm=AKAv1-MD5, auts="uuF0E1vbfnwjQ+tZIHs="`
	c, err = ParseCredentials(h)
	if err != nil {
		t.Fatal(err)
	}
	want := &Credentials{Username: chainIMPI, Realm: chainBSF, Nonce: chainNonce, URI: "/", QOP: "auth-int", NC: "00000001",
		CNonce: "0a4f113b", Response: "1d73ea14d997bda5a5f27a0d4e0a1cb3", Opaque: "x", Algorithm: "AKAv1-MD5", AUTS: "uuF0E1vbfnwjQ+tZIHs="}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v", c)
	}
	if c.String() != h {
		t.Errorf("String = %q\nwant %q", c.String(), h)
	}
	for _, tc := range []struct{ in, want string }{
		{`Digest realm="r", nonce="", uri="/", response=""`, "username missing"},
		{`Digest username="u", nonce="", uri="/", response=""`, "realm missing"},
		{`Digest username="u", realm="r", uri="/", response=""`, "nonce missing"},
		{`Digest username="u", realm="r", nonce="", response=""`, "uri missing"},
		{`Digest username="u", realm="r", nonce="", uri="/"`, "response missing"},
		{`Digest username="u", realm="r", nonce="", uri="/", response="", qop=auth`, "qop=auth without nc and cnonce"},
		{`Digest username="u", realm="r", nonce="", uri="/", response="", qop=auth, nc=1, cnonce="c"`, `nc "1" is not 8 hex digits`},
		{`Digest username="u", realm="r", nonce="", uri="/", response="", qop=auth-conf, nc=00000001, cnonce="c"`, `unknown qop "auth-conf"`},
		{`Digest username="u`, "unterminated quoted value"},
	} {
		_, err := ParseCredentials(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCredentials(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestSplitAKANonceErrors(t *testing.T) {
	if _, _, _, err := SplitAKANonce("!!!"); err == nil || !strings.Contains(err.Error(), "not base64") {
		t.Errorf("bad base64: %v", err)
	}
	if _, _, _, err := SplitAKANonce("AAAA"); err == nil || !strings.Contains(err.Error(), "decodes to 3 octets, want at least 32") {
		t.Errorf("short: %v", err)
	}
	// unpadded nonce is accepted, server data is returned
	r, a, sd, err := SplitAKANonce(strings.TrimRight(AKANonce(make([]byte, 16), make([]byte, 16), []byte{1, 2}), "="))
	if err != nil || len(r) != 16 || len(a) != 16 || len(sd) != 2 {
		t.Errorf("unpadded: %v", err)
	}
}

func TestDigestNoQOP(t *testing.T) {
	// RFC 2617 §3.5 example is MD5 with qop=auth; here the RFC 2069 form (no qop) is checked
	// against a hand-written MD5(HA1:nonce:HA2).
	c := &Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", URI: "/dir/index.html"}
	want := md5x(md5x("Mufasa:testrealm@host.com:Circle Of Life") + ":dcd98b7102dd2f0e8b11d0f600bfb0c093:" + md5x("GET:/dir/index.html"))
	if got := DigestResponse(c, []byte("Circle Of Life"), "GET", nil); got != want {
		t.Errorf("no-qop response = %s, want %s", got, want)
	}
	// RFC 2617 §3.5: published response 6629fae49393a05397450978507c4ef1
	c.QOP, c.NC, c.CNonce = "auth", "00000001", "0a4f113b"
	if got := DigestResponse(c, []byte("Circle Of Life"), "GET", nil); got != "6629fae49393a05397450978507c4ef1" {
		t.Errorf("RFC 2617 §3.5 response = %s", got)
	}
}
