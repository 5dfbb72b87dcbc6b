package mikey

import (
	"bytes"
	"errors"
	"testing"
)

// Fuzz targets: whatever parses must re-encode to exactly the input (or the consumed part of it),
// and malformed input must give a *ParseError, never a panic.

func seedMessages(f *testing.F) [][]byte {
	var out [][]byte
	out = append(out, wireB64(f, rfc4567Offer), wireB64(f, rfc4567Answer),
		wireHex(f, "01000000123456780000"),
		wireHex(f, "01000000123456780200011234567800000000022345678900000001"))
	for _, s := range wireSamples {
		out = append(out, sampleBytes(f, s))
	}
	return out
}

// seedBodies returns the body (after Next Payload) of every payload of type pt in the seed messages.
func seedBodies(f *testing.F, pt PayloadType) [][]byte {
	var out [][]byte
	for _, s := range wireSamples {
		for _, p := range s.msg().Payloads {
			if p.PayloadType() == pt {
				b, err := p.appendBody(nil)
				if err != nil {
					f.Fatal(err)
				}
				out = append(out, b)
			}
			if tk, ok := p.(*TICKET); ok && pt == PayloadKEMAC {
				for _, q := range tk.Policy.Data {
					if k, ok := q.(*KEMAC); ok {
						b, _ := k.appendBody(nil)
						out = append(out, b)
					}
				}
			}
		}
	}
	return out
}

func checkParseError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnknownPayload) && !errors.Is(err, ErrTrailingBytes) && !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("error %v wraps no sentinel", err)
	}
}

// fuzzBody decodes b as the body of p; if it decodes, the consumed bytes must re-encode exactly.
func fuzzBody(t *testing.T, p Payload, b []byte) {
	d := &decoder{b: b, end: len(b)}
	if err := p.parseBody(d); err != nil {
		checkParseError(t, err)
		return
	}
	out, err := p.appendBody(nil)
	if err != nil {
		t.Fatalf("decoded %+v but Marshal fails: %v", p, err)
	}
	if !bytes.Equal(out, b[:d.off]) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, b[:d.off])
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			checkParseError(t, err)
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed but Marshal fails: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, b)
		}
		for _, excl := range []bool{false, true} {
			if in, err := m.MACInput(excl); err == nil && len(in) > len(b) {
				t.Fatalf("MAC input longer than the message")
			}
		}
	})
}

func FuzzHDR(f *testing.F) {
	for _, b := range seedMessages(f) {
		if h, next, err := ParseHDR(b[:wireHDRLen(b)]); err == nil {
			hb, _ := h.Marshal(next)
			f.Add(hb)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, next, err := ParseHDR(b)
		if err != nil {
			checkParseError(t, err)
			return
		}
		out, err := h.Marshal(next)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encoding = %x, %v; want %x", out, err, b)
		}
	})
}

// FuzzGenericIDMap feeds #CS followed by GENERIC-ID map info (RFC 6043 §6.1.1) behind a fixed HDR.
func FuzzGenericIDMap(f *testing.F) {
	prefix := wireHex(f, "010e0080 1a2b3c4d")
	for _, s := range wireSamples {
		m := s.msg()
		if m.HDR.CSIDMapType == CSIDMapGenericID {
			hb, _ := m.HDR.Marshal(0)
			f.Add(append([]byte{hb[8]}, hb[10:]...))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		hb := append(append(bytes.Clone(prefix), b[0], byte(CSIDMapGenericID)), b[1:]...)
		h, next, err := ParseHDR(hb)
		if err != nil {
			checkParseError(t, err)
			return
		}
		out, err := h.Marshal(next)
		if err != nil || !bytes.Equal(out, hb) {
			t.Fatalf("re-encoding = %x, %v; want %x", out, err, hb)
		}
		for i := range h.GenericIDs {
			if h.GenericIDs[i].ProtType == ProtSRTP {
				if _, _, _, _, err := h.GenericIDs[i].SRTPSession(); err != nil {
					t.Fatalf("decoded SRTP Session Data does not read back: %v", err)
				}
			}
		}
	})
}

// FuzzKEMAC decodes a KEMAC body and, as if decrypted, its Encr data as a Key data list.
func FuzzKEMAC(f *testing.F) {
	for _, b := range seedBodies(f, PayloadKEMAC) {
		f.Add(b)
	}
	kd, _ := MarshalKeyDataList([]KeyData{
		{Type: KeyMPK, KV: KVSPI, Key: wireSeq(0, 16), SPI: []byte{1, 2, 3, 4}},
		{Type: KeyTEKSalt, KV: KVInterval, Key: wireSeq(0, 16), Salt: wireSeq(0, 14), VF: make([]byte, 6), VT: make([]byte, 6)},
	})
	kb, _ := (&KEMAC{EncrData: kd}).appendBody(nil)
	f.Add(kb)
	f.Fuzz(func(t *testing.T, b []byte) {
		k := new(KEMAC)
		fuzzBody(t, k, b)
		ks, err := ParseKeyDataList(k.EncrData)
		if err != nil {
			checkParseError(t, err)
			return
		}
		out, err := MarshalKeyDataList(ks)
		if err != nil || !bytes.Equal(out, k.EncrData) {
			t.Fatalf("key data re-encoding = %x, %v; want %x", out, err, k.EncrData)
		}
	})
}

func FuzzSP(f *testing.F) {
	for _, b := range seedBodies(f, PayloadSP) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzBody(t, new(SP), b) })
}

func FuzzTP(f *testing.F) {
	for _, b := range seedBodies(f, PayloadTP) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := new(TP)
		fuzzBody(t, p, b)
		_ = p.Flags.Validate()
	})
}

func FuzzTICKET(f *testing.F) {
	for _, b := range seedBodies(f, PayloadTICKET) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := new(TICKET)
		fuzzBody(t, p, b)
		_, _, _ = p.InitiatorPayloads()
	})
}

// wireHDRLen is the length of the HDR at the start of a valid message.
func wireHDRLen(b []byte) int {
	var h HDR
	d := &decoder{b: b, end: len(b)}
	if _, err := h.parse(d); err != nil {
		return 0
	}
	return d.off
}
