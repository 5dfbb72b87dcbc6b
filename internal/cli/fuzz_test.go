package cli

import (
	"encoding/base64"
	"io"
	"testing"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// FuzzExtractMIKEY feeds arbitrary input through the whole decode path: format detection, SDP
// scanning, base64/hex decoding, the MIKEY parser and the text and JSON rendering. It must never
// panic, and every decoded message must render in both forms.
func FuzzExtractMIKEY(f *testing.F) {
	offer, _ := base64.StdEncoding.DecodeString(rfc4567Offer)
	f.Add([]byte(rfc4567Offer))
	f.Add([]byte("mikey " + rfc4567Answer))
	f.Add(offer)
	f.Add([]byte("v=0\r\ns=-\r\na=key-mgmt:mikey " + rfc4567Offer + "\r\nm=audio 1 RTP/SAVP 0\r\na=key-mgmt:mikey AQEF\r\n"))
	f.Add([]byte("a=key-mgmt:mikey AQAF\nUaDX8ZE2\n0KZ14ymN==\n"))
	f.Add([]byte("01 00 05 80"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ins, err := extractMIKEY(data, formatAuto)
		if err != nil {
			return
		}
		d := &decoder{}
		for _, in := range ins {
			o, _ := d.decode(in)
			o.writeText(io.Discard, 0)
			if err := emit(io.Discard, o, true); err != nil {
				t.Fatalf("JSON: %v", err)
			}
		}
		if m, err := mikey.ParseMessage(data); err == nil {
			describePayloads(m.Payloads, true)
		}
	})
}

// FuzzDecodeHexFlag: any flag text either decodes to the wanted length or is refused, without
// echoing the value.
func FuzzDecodeHexFlag(f *testing.F) {
	f.Add("465b5ce8b199b49faa5f0a2ee238a6bc", 16)
	f.Add("0x46:5b 5c", 3)
	f.Add("zz", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 64 {
			return
		}
		b, err := decodeHexFlag("k", s, n)
		if err == nil && n > 0 && len(b) != n {
			t.Fatalf("%d bytes, want %d", len(b), n)
		}
	})
}
