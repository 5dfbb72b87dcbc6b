package sdes

import "testing"

func BenchmarkParse(b *testing.B) {
	const line = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnswer(b *testing.B) {
	offer, err := NewOffer(testRand(1), Policy{})
	if err != nil {
		b.Fatal(err)
	}
	attrs := offer.Attributes()
	r := testRand(2)
	p := Policy{Suites: []string{"AEAD_AES_128_GCM"}} // the second offered line
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Answer(r, p, attrs); err != nil {
			b.Fatal(err)
		}
	}
}
