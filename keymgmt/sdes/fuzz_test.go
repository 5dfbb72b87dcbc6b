package sdes

import (
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
	"crypto:1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32",
	"1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2|1066:4",
	"2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP",
	"7 AES_CM_256_HMAC_SHA1_80 inline:8PBJFLUT8nY6Gx+hMPEOKZj29uQ+QwnR5iKg4zK58bY7BIA95R7nyWQjq1t40g",
	"3 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2 KDR=0 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP FEC_ORDER=SRTP_FEC FEC_KEY=inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^31 WSH=128 -X=1 Y",
	"9 SHINY inline:AAEC|7|123456789012345678901234567890:128",
	"1 AEAD_AES_256_GCM\tinline:" + strings.Repeat("QUFB", 14) + "QQ==",
	"1 AES_CM_128_HMAC_SHA1_80 inline:x|1:0",
	"",
}

// FuzzParse checks that Parse never panics and that parse → Marshal → parse is stable.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(in)
		if err != nil {
			return
		}
		_ = c.String()
		text := c.Marshal()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Marshal output %q does not parse: %v", text, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the attribute:\n%#v\n%#v", *c, *again)
		}
		if again.Marshal() != text {
			t.Fatalf("Marshal not stable: %q then %q", text, again.Marshal())
		}
	})
}

// FuzzAnswer feeds arbitrary offered lines to the answerer: it must not panic, and an answer
// it produces must parse and be accepted by the line's own checks.
func FuzzAnswer(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+3)%len(fuzzSeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ans, neg, err := Answer(testRand(1), Policy{AllowUnencryptedSRTCP: true}, []string{a, b})
		if err != nil {
			return
		}
		back, err := Parse(ans.Marshal())
		if err != nil {
			t.Fatalf("answer %q does not parse: %v", ans.Marshal(), err)
		}
		if back.Tag != neg.Tag || len(neg.Send.MasterKey.Key) != neg.Suite.KeyLen || len(neg.Receive.Salt) != neg.Suite.SaltLen {
			t.Fatalf("inconsistent answer %v / %v", back, neg)
		}
	})
}
