package gba

import (
	"context"
	"testing"
)

// BenchmarkMilenage is one USIM-side run: f1 plus f2, f3, f4, f5.
func BenchmarkMilenage(b *testing.B) {
	s := ts35208[0]
	m, _ := NewMilenage(unhex(b, s.k), unhex(b, s.opc))
	rand, sqn, amf := unhex(b, s.rand), unhex(b, s.sqn), unhex(b, s.amf)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.F1(rand, sqn, amf); err != nil {
			b.Fatal(err)
		}
		if _, _, _, _, err := m.F2345(rand); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeriveKsNAF(b *testing.B) {
	ks, rand := unhex(b, chainKs), unhex(b, chainRAND)
	naf := NAFID{FQDN: chainNAF, UaSecProtID: UaSecProtIDKMS()}
	b.ReportAllocs()
	for b.Loop() {
		DeriveKsNAF(ks, rand, chainIMPI, naf)
	}
}

// BenchmarkUbBootstrap is a full Ub run (initial GET, 401, AKA, answer, 200, rspauth, XML) against
// the httptest BSF on 127.0.0.1, keep-alive connection reused.
func BenchmarkUbBootstrap(b *testing.B) {
	f := newUbFixture(b)
	f.client.Rand = nil
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		bs, err := f.client.Bootstrap(ctx)
		if err != nil {
			b.Fatal(err)
		}
		bs.Zero()
	}
}
