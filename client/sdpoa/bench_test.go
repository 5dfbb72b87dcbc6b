package sdpoa

import (
	"testing"
)

// BenchmarkParse parses a typical SRTP offer (two a=crypto lines).
func BenchmarkParse(b *testing.B) {
	o, _ := NewOffer(ourOrigin, Local{Addr: ourAddr, RTCPMux: true, Proto: ProtoSAVP, Attributes: []Attribute{
		{Key: "crypto", Value: "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"},
		{Key: "crypto", Value: "2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"}}}, nil).Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnswer answers a parsed offer and marshals the answer.
func BenchmarkAnswer(b *testing.B) {
	off, err := Parse([]byte(foreignOffer))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ans, _, err := Answer(off, ourOrigin, Local{Addr: ourAddr, RTCPMux: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ans.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
