package gba

import (
	"reflect"
	"testing"
)

// digestHeader is a parsed Digest header (Challenge or Credentials) for digestRoundTrip.
type digestHeader interface {
	String() string
	comparable
}

// digestRoundTrip checks that a header that parses formats and parses back to the same fields.
// Param.Quoted may change: an unquoted value that is not a token is written quoted.
func digestRoundTrip[H digestHeader](t *testing.T, h string, parse func(string) (H, error), extra func(H) []Param) {
	c, err := parse(h)
	if err != nil {
		return
	}
	s := c.String()
	c2, err := parse(s)
	if err != nil {
		t.Fatalf("reparse of %q: %v", s, err)
	}
	for _, x := range [][]Param{extra(c), extra(c2)} {
		for i := range x {
			x[i].Quoted = false
		}
	}
	if !reflect.DeepEqual(c, c2) {
		t.Fatalf("round trip mismatch:\n%+v\n%+v", c, c2)
	}
}

// FuzzParseChallenge: no panics; whatever parses formats and parses back to the same fields.
func FuzzParseChallenge(f *testing.F) {
	f.Add(`Digest realm="bsf.home1.net", nonce="` + chainNonce + `", algorithm=AKAv1-MD5, qop="auth-int", opaque="x"`)
	f.Add(`digest REALM=r,nonce=n , qop="auth,auth-int", stale=true, foo="a\"b", bar=baz`)
	f.Add(`Digest realm="x`)
	f.Add(`Digest ,,,=,"`)
	f.Fuzz(func(t *testing.T, h string) {
		digestRoundTrip(t, h, ParseChallenge, func(c *Challenge) []Param { return c.Extra })
	})
}

// FuzzParseCredentials: no panics; parse → String → parse gives the same fields.
func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="user1_private@home1.net", realm="bsf.home1.net", nonce="", uri="/", response=""`)
	f.Add(`Digest username="u", realm="r", nonce="` + chainNonce + `", uri="/", qop=auth-int, nc=00000001, cnonce="0a4f113b", response="d47e4afd3245638428c815924bc5bc69", opaque="x", algorithm=AKAv1-MD5, auts="uuF0E1vbfnwjQ+tZIHs="`)
	f.Add(`Digest username="u`)
	f.Fuzz(func(t *testing.T, h string) {
		digestRoundTrip(t, h, ParseCredentials, func(c *Credentials) []Param { return c.Extra })
	})
}

// FuzzParseBootstrappingInfo: no panics; a parsed document marshals (unless its B-TID cannot be
// written back, which Marshal reports) and parses back to the same value.
func FuzzParseBootstrappingInfo(f *testing.F) {
	f.Add([]byte(chainBody))
	f.Add([]byte(`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>B@bsf</btid><lifetime>2013-04-22T13:10:25.559Z</lifetime><Extension/></BootstrappingInfo>`))
	f.Add([]byte(`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid>`))
	f.Add([]byte(`<x/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bi, err := ParseBootstrappingInfo(b)
		if err != nil {
			return
		}
		out, err := bi.Marshal()
		if err != nil {
			t.Fatalf("Marshal of parsed %+v: %v", bi, err)
		}
		bi2, err := ParseBootstrappingInfo(out)
		if err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if bi2.BTID != bi.BTID || !bi2.Lifetime.Equal(bi.Lifetime) {
			t.Fatalf("round trip: %+v vs %+v", bi, bi2)
		}
	})
}

// FuzzParseAuthenticationInfo: no panics; parse → String → parse keeps the fields.
func FuzzParseAuthenticationInfo(f *testing.F) {
	f.Add(`qop=auth-int, rspauth="566e6e8d7c69862310bd31c9dadfe46e", cnonce="0a4f113b", nc=00000001, opaque="x", nonce="y"`)
	f.Add(`rspauth=""`)
	f.Add(`rspauth="x`)
	f.Fuzz(func(t *testing.T, h string) {
		ai, err := ParseAuthenticationInfo(h)
		if err != nil {
			return
		}
		s := ai.String()
		ai2, err := ParseAuthenticationInfo(s)
		if err != nil {
			t.Fatalf("reparse of %q: %v", s, err)
		}
		for i := range ai.Extra {
			ai.Extra[i].Quoted = false
		}
		for i := range ai2.Extra {
			ai2.Extra[i].Quoted = false
		}
		if !reflect.DeepEqual(ai, ai2) {
			t.Fatalf("round trip mismatch:\n%+v\n%+v", ai, ai2)
		}
	})
}
