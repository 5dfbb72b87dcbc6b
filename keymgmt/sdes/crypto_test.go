package sdes

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// The RFC 4568 example keys decode to ASCII text. The expected octets below were obtained
// with Python's base64 module (an implementation independent of encoding/base64).
func TestParseRFC4568Examples(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		tag      uint32
		suite    string
		keySalt  []string
		lifetime uint64
		mki      [][]byte
		fecOrder string
	}{
		{
			// RFC 4568 §4 (the first example of the crypto attribute).
			name:    "§4",
			in:      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
			tag:     1,
			suite:   "AES_CM_128_HMAC_SHA1_80",
			keySalt: []string{"=-n@%^x!Bjufr9)?,#5h\\`=&]{qiPQ"}, lifetime: 1 << 20,
			mki: [][]byte{append(make([]byte, 31), 1)},
		},
		{
			// RFC 4568 §4.5, video line.
			name: "§4.5 video", in: "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32",
			tag: 1, suite: "AES_CM_128_HMAC_SHA1_80",
			keySalt: []string{"wDfvg&T+)xG7@fb5jU,RaA}\\|p0%*#"}, lifetime: 1 << 20,
			mki: [][]byte{append(make([]byte, 31), 1)},
		},
		{
			// RFC 4568 §4.5, audio line.
			name: "§4.5 audio", in: "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32",
			tag: 1, suite: "AES_CM_128_HMAC_SHA1_32",
			keySalt: []string{"70xwPH5@/,L:S1wY\"~='EpgT%(i_Vc"}, lifetime: 1 << 20,
			mki: [][]byte{append(make([]byte, 31), 1)},
		},
		{
			// RFC 4568 §6.1, second example: no lifetime, MKI 1066 in 4 octets.
			name: "§6.1 MKI 1066", in: "1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2|1066:4",
			tag: 1, suite: "AES_CM_128_HMAC_SHA1_80",
			keySalt: []string{"aBCdefghiJKLmoPQrsTuVwyz123456"},
			mki:     [][]byte{{0, 0, 0x04, 0x2a}},
		},
		{
			// RFC 4568 §7.1.5, offer tag 1.
			name: "§7.1.5 offer 1", in: "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 FEC_ORDER=FEC_SRTP",
			tag: 1, suite: "AES_CM_128_HMAC_SHA1_80",
			keySalt: []string{"YS___semctl () {\t220;}\n}\nunles"}, lifetime: 1 << 20,
			mki: [][]byte{{0, 0, 0, 1}}, fecOrder: "FEC_SRTP",
		},
		{
			// RFC 4568 §7.1.5, offer tag 2: two keys with MKIs 1 and 2.
			name: "§7.1.5 offer 2 (F8, two keys)",
			in:   "2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP",
			tag:  2, suite: "F8_128_HMAC_SHA1_80",
			keySalt:  []string{"123456789ABCDE0123456789ABcdef", "ABcdef123456789ABCDE0123456789"},
			lifetime: 1 << 20, mki: [][]byte{{0, 0, 0, 1}, {0, 0, 0, 2}}, fecOrder: "FEC_SRTP",
		},
		{
			// RFC 4568 §7.1.5, answer.
			name: "§7.1.5 answer", in: "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
			tag: 1, suite: "AES_CM_128_HMAC_SHA1_80",
			keySalt: []string{"=-n@%^x!Bjufr9)?,#5h\\`=&]{qiPQ"}, lifetime: 1 << 20,
			mki: [][]byte{{0, 0, 0, 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Tag != tc.tag || c.Suite != tc.suite || c.FECOrder != tc.fecOrder {
				t.Fatalf("tag %d suite %s fec %q", c.Tag, c.Suite, c.FECOrder)
			}
			if len(c.Keys) != len(tc.keySalt) {
				t.Fatalf("%d keys, want %d", len(c.Keys), len(tc.keySalt))
			}
			for i, k := range c.Keys {
				if string(k.KeySalt) != tc.keySalt[i] {
					t.Errorf("key %d: wrong key||salt", i)
				}
				if k.Lifetime != tc.lifetime {
					t.Errorf("key %d: lifetime %d, want %d", i, k.Lifetime, tc.lifetime)
				}
				if !bytes.Equal(k.MKI, tc.mki[i]) {
					t.Errorf("key %d: MKI %x, want %x", i, k.MKI, tc.mki[i])
				}
			}
			again, err := Parse(c.Marshal())
			if err != nil {
				t.Fatalf("reparse %q: %v", c.Marshal(), err)
			}
			if again.Marshal() != c.Marshal() {
				t.Fatalf("round trip changed %q to %q", c.Marshal(), again.Marshal())
			}
		})
	}
}

// The RFC texts' attribute, written back, is the same text (without the "a=crypto:" prefix).
func TestMarshalRFC4568Text(t *testing.T) {
	for _, in := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
		"1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2|1066:4",
		"2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP",
	} {
		c, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Marshal(); got != in {
			t.Errorf("Marshal = %q, want %q", got, in)
		}
	}
}

// RFC 6188 §7.2 publishes an AES-256 master key and salt; RFC 7714 §12 fixes the AEAD key
// and salt lengths. The lines are built here from those octets and must decode to them.
func TestParseRFC6188AndGCMLengths(t *testing.T) {
	key := mustHex(t, "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6")
	salt := mustHex(t, "3b04803de51ee7c96423ab5b78d2")
	b64 := "8PBJFLUT8nY6Gx+hMPEOKZj29uQ+QwnR5iKg4zK58bY7BIA95R7nyWQjq1t40g==" // 46 octets, padded
	for _, suite := range []string{"AES_256_CM_HMAC_SHA1_80", "AES_CM_256_HMAC_SHA1_80", "aes_256_cm_hmac_sha1_32", "AES_CM_256_HMAC_SHA1_32"} {
		for _, enc := range []string{b64, strings.TrimRight(b64, "=")} {
			c, err := Parse("7 " + suite + " inline:" + enc)
			if err != nil {
				t.Fatalf("%s: %v", suite, err)
			}
			if !strings.HasPrefix(c.Suite, "AES_256_CM_HMAC_SHA1_") {
				t.Errorf("%s normalised to %s", suite, c.Suite)
			}
			if !bytes.Equal(c.Keys[0].KeySalt, append(append([]byte(nil), key...), salt...)) {
				t.Errorf("%s: wrong key||salt", suite)
			}
			if got := c.Marshal(); got != "7 "+c.Suite+" inline:"+b64 {
				t.Errorf("Marshal = %q", got)
			}
		}
	}
	// AEAD_AES_128_GCM: 16+12 = 28 octets; AEAD_AES_256_GCM: 32+12 = 44 (baresip#1233).
	for _, tc := range []struct {
		suite string
		n     int
	}{{"AEAD_AES_128_GCM", 28}, {"AEAD_AES_256_GCM", 44}} {
		ks := bytes.Repeat([]byte{0xa5}, tc.n)
		c, err := Parse(fmt.Sprintf("1 %s inline:%s", tc.suite, b64enc(ks)))
		if err != nil {
			t.Fatalf("%s: %v", tc.suite, err)
		}
		if len(c.Keys[0].KeySalt) != tc.n {
			t.Fatalf("%s: %d octets", tc.suite, len(c.Keys[0].KeySalt))
		}
		if _, err := Parse(fmt.Sprintf("1 %s inline:%s", tc.suite, b64enc(ks[:tc.n-2]))); !errors.Is(err, ErrKeyLength) {
			t.Errorf("%s short key: %v", tc.suite, err)
		}
	}
}

func TestParseSessionParams(t *testing.T) {
	const key = "inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2"
	c, err := Parse("3 AES_CM_128_HMAC_SHA1_80 " + key + " KDR=0 unencrypted_srtcp UNENCRYPTED_SRTP UNAUTHENTICATED_SRTP FEC_ORDER=srtp_fec FEC_KEY=inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^31 WSH=128 -OPTIONAL=1 FUTURE_PARAM")
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasKDR || c.KDR != 0 || !c.UnencryptedSRTCP || !c.UnencryptedSRTP || !c.UnauthenticatedSRTP ||
		c.FECOrder != FECOrderSRTPFEC || len(c.FECKeys) != 1 || c.FECKeys[0].Lifetime != 1<<31 || c.WSH != 128 {
		t.Fatalf("parsed %+v", *c)
	}
	if len(c.Extensions) != 2 || c.Extensions[0] != "-OPTIONAL=1" || c.Extensions[1] != "FUTURE_PARAM" {
		t.Fatalf("extensions %q", c.Extensions)
	}
	if m := c.Mandatory(); len(m) != 1 || m[0] != "FUTURE_PARAM" {
		t.Fatalf("mandatory %q", m)
	}
	want := "3 AES_CM_128_HMAC_SHA1_80 " + key + " KDR=0 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP FEC_ORDER=SRTP_FEC FEC_KEY=inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^31 WSH=128 -OPTIONAL=1 FUTURE_PARAM"
	if got := c.Marshal(); got != want {
		t.Fatalf("Marshal\n got %q\nwant %q", got, want)
	}
}

func TestParseUnknownSuiteKept(t *testing.T) {
	c, err := Parse("9 SHINY_NEW_SUITE inline:AAEC|2^10")
	if err != nil {
		t.Fatal(err)
	}
	if c.Suite != "SHINY_NEW_SUITE" || len(c.Keys[0].KeySalt) != 3 {
		t.Fatalf("%+v", c)
	}
	if _, ok := LookupSuite(c.Suite); ok {
		t.Fatal("unknown suite found")
	}
}

func TestParseMalformed(t *testing.T) {
	const k = "inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2"
	const s = "AES_CM_128_HMAC_SHA1_80"
	tests := []struct {
		name, in, field string
		is              error
	}{
		{"empty", "", "attribute", ErrSyntax},
		{"two fields", "1 " + s, "attribute", ErrSyntax},
		{"tag letters", "x1 " + s + " " + k, "tag", ErrSyntax},
		{"tag leading zero", "01 " + s + " " + k, "tag", ErrSyntax},
		{"tag ten digits", "1234567890 " + s + " " + k, "tag", ErrSyntax},
		{"tag negative", "-1 " + s + " " + k, "tag", ErrSyntax},
		{"suite punctuation", "1 AES-CM " + k, "crypto-suite", ErrSyntax},
		{"control char", "1 " + s + "\x01 " + k, "attribute", ErrSyntax},
		{"non-ascii", "1 " + s + " " + k + " WSH=64\xc3\xa9", "attribute", ErrSyntax},
		{"no key method", "1 " + s + " YUJDZGVm", "key-params", ErrSyntax},
		{"url key method", "1 " + s + " uri:http://x", "key-params", ErrUnsupported},
		{"bad base64", "1 " + s + " inline:YUJD*GVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2", "key-params key||salt", ErrSyntax},
		{"base64 one char over", "1 " + s + " inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2Y", "key-params key||salt", ErrSyntax},
		{"triple padding", "1 " + s + " inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2===", "key-params key||salt", ErrSyntax},
		{"empty key", "1 " + s + " inline:|2^20", "key-params key||salt", ErrSyntax},
		{"key too short", "1 " + s + " inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIz", "key-params key||salt", ErrKeyLength},
		{"key too long for 128", "1 " + s + " inline:8PBJFLUT8nY6Gx+hMPEOKZj29uQ+QwnR5iKg4zK58bY7BIA95R7nyWQjq1t40g==", "key-params key||salt", ErrKeyLength},
		{"lifetime garbage", "1 " + s + " " + k + "|2^x", "key-params lifetime", ErrSyntax},
		{"lifetime zero", "1 " + s + " " + k + "|0", "key-params lifetime", ErrSyntax},
		{"lifetime leading zero", "1 " + s + " " + k + "|020", "key-params lifetime", ErrSyntax},
		{"lifetime 2^49", "1 " + s + " " + k + "|2^49", "key-params lifetime", ErrSyntax},
		{"lifetime above 2^48", "1 " + s + " " + k + "|281474976710657", "key-params lifetime", ErrSyntax},
		{"lifetime twice", "1 " + s + " " + k + "|2^20|2^20", "key-params MKI", ErrSyntax},
		{"MKI then lifetime", "1 " + s + " " + k + "|1:4|2^20", "key-params", ErrSyntax},
		{"four fields", "1 " + s + " " + k + "|2^20|1:4|x", "key-params", ErrSyntax},
		{"MKI length 0", "1 " + s + " " + k + "|1:0", "key-params MKI", ErrSyntax},
		{"MKI length 129", "1 " + s + " " + k + "|1:129", "key-params MKI", ErrSyntax},
		{"MKI length missing", "1 " + s + " " + k + "|1:", "key-params MKI", ErrSyntax},
		{"MKI value missing", "1 " + s + " " + k + "|:4", "key-params MKI", ErrSyntax},
		{"MKI value too big", "1 " + s + " " + k + "|256:1", "key-params MKI", ErrSyntax},
		{"MKI value leading zero", "1 " + s + " " + k + "|01:4", "key-params MKI", ErrSyntax},
		{"two keys, one MKI", "1 " + s + " " + k + "|1:4;" + k, "key-params", ErrSyntax},
		{"two keys, MKI lengths differ", "1 " + s + " " + k + "|1:4;" + k + "|2:2", "key-params", ErrSyntax},
		{"two keys, same MKI", "1 " + s + " " + k + "|1:4;" + k + "|1:4", "key-params", ErrDuplicate},
		{"trailing semicolon", "1 " + s + " " + k + ";", "key-params", ErrSyntax},
		{"KDR 25", "1 " + s + " " + k + " KDR=25", "session-param KDR", ErrSyntax},
		{"KDR empty", "1 " + s + " " + k + " KDR=", "session-param KDR", ErrSyntax},
		{"KDR twice", "1 " + s + " " + k + " KDR=1 KDR=1", "session-param KDR", ErrDuplicate},
		{"WSH below 64", "1 " + s + " " + k + " WSH=63", "session-param WSH", ErrSyntax},
		{"WSH twice", "1 " + s + " " + k + " WSH=64 WSH=128", "session-param WSH", ErrDuplicate},
		{"UNENCRYPTED_SRTP twice", "1 " + s + " " + k + " UNENCRYPTED_SRTP UNENCRYPTED_SRTP", "session-param UNENCRYPTED_SRTP", ErrDuplicate},
		{"UNENCRYPTED_SRTCP with value", "1 " + s + " " + k + " UNENCRYPTED_SRTCP=1", "session-param UNENCRYPTED_SRTCP", ErrSyntax},
		{"FEC_ORDER bad", "1 " + s + " " + k + " FEC_ORDER=LATER", "session-param FEC_ORDER", ErrSyntax},
		{"FEC_ORDER twice", "1 " + s + " " + k + " FEC_ORDER=FEC_SRTP FEC_ORDER=FEC_SRTP", "session-param FEC_ORDER", ErrDuplicate},
		{"FEC_KEY bad length", "1 " + s + " " + k + " FEC_KEY=inline:AAAA", "session-param FEC_KEY key||salt", ErrKeyLength},
		{"FEC_KEY twice", "1 " + s + " " + k + " FEC_KEY=" + k + " FEC_KEY=" + k, "session-param FEC_KEY", ErrDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("parsed %v", c)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", pe.Field, tc.field, err)
			}
			if pe.Offset < 0 || pe.Offset > len(tc.in) {
				t.Errorf("offset %d outside input", pe.Offset)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "YUJDZGVm") {
				t.Errorf("error leaks key text: %v", err)
			}
		})
	}
}

func TestParseErrorOffset(t *testing.T) {
	in := "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2|2^20|1:0"
	_, err := Parse(in)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if want := strings.Index(in, "1:0"); pe.Offset != want {
		t.Fatalf("offset %d, want %d (%v)", pe.Offset, want, err)
	}
}

func TestCryptoRedaction(t *testing.T) {
	c, err := Parse("1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2|2^20|1:4")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("offer", "crypto", c)
	for _, out := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), buf.String()} {
		if strings.Contains(out, "YUJDZGVm") || strings.Contains(out, "aBCdef") {
			t.Errorf("key material in %q", out)
		}
		if !strings.Contains(out, "redacted") && !strings.Contains(out, "keys=1") {
			t.Errorf("no redaction marker in %q", out)
		}
	}
	if !strings.Contains(c.Marshal(), "YUJDZGVm") {
		t.Fatal("Marshal lost the key")
	}
}
