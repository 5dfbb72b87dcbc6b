package mikey

import "testing"

// TRANSFER_INIT with two crypto sessions (GENERIC-ID map), two SPs, a TICKET with Initiator Data,
// a KEMAC and V: the message a UE sends in every INVITE.

func BenchmarkParseTransferInit(b *testing.B) {
	raw, err := sampleTransferInit().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalTransferInit(b *testing.B) {
	m := sampleTransferInit()
	n, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(n)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
