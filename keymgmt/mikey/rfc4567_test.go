package mikey

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// The two MIKEY messages of RFC 4567 §5.1 (Example 1, SIP/SDP), copied from the a=key-mgmt lines of
// /work/shared/specs/rfc/rfc4567.txt (lines 919-921 and 961-962), base64 line breaks removed. The
// keys are not published, so only the encoding is checked; the values below were read by hand from
// the RFC 3830 §6 layouts (spec digest §8.1).
const (
	rfc4567Offer  = "AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2UaDX8ZE22YwKAAAPZG9uYWxkQGR1Y2suY29tAQAAAAAAAQAk0JKpgaVkDaawi9whVBtBt0KZ14ymNuu62+Nv3ozPLygwK/GbAV9iemnGUIZ19fWQUOSrzKTAv9zV"
	rfc4567Answer = "AQEFgM0XflABAAAAAAAAAAAAAAYAyONQ6gAAAAAJAAAQbWlja2V5QG1vdXNlLmNvbQABn8HdGE5BMDXFIuGEga+62AgY5cc="
)

func wireB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wireHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wireRoundTrip(t testing.TB, b []byte) *Message {
	t.Helper()
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(out, b) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, b)
	}
	return m
}

func TestRFC4567Offer(t *testing.T) {
	b := wireB64(t, rfc4567Offer)
	if len(b) != 132 {
		t.Fatalf("offer is %d bytes, want 132", len(b))
	}
	m := wireRoundTrip(t, b)
	h := m.HDR
	if h.Version != 1 || h.DataType != DataTypePSKInit || !h.V || h.PRF != PRFMIKEY1 || h.CSBID != 0xcd177e50 {
		t.Errorf("HDR = %+v", h)
	}
	if h.CSIDMapType != CSIDMapSRTPID || h.NumCS != 1 || len(h.SRTPIDs) != 1 || h.SRTPIDs[0] != (SRTPIDEntry{}) {
		t.Errorf("HDR map = %d #CS %d %+v, want SRTP-ID with one zero entry", h.CSIDMapType, h.NumCS, h.SRTPIDs)
	}
	wantTypes := []PayloadType{PayloadT, PayloadRAND, PayloadID, PayloadSP, PayloadKEMAC}
	if len(m.Payloads) != len(wantTypes) {
		t.Fatalf("%d payloads, want %d", len(m.Payloads), len(wantTypes))
	}
	for i, p := range m.Payloads {
		if p.PayloadType() != wantTypes[i] {
			t.Errorf("payload %d is %v, want %v", i, p.PayloadType(), wantTypes[i])
		}
	}
	if ts := m.T(); ts.TSType != TSNTPUTC || ts.Value != 0xc8e350ea00000000 {
		t.Errorf("T = %+v", ts)
	}
	if r := m.RAND(); !bytes.Equal(r.Data, wireHex(t, "4a28da979ee21a7651a0d7f19136d98c")) {
		t.Errorf("RAND = %x", r.Data)
	}
	if ids := m.ID(); len(ids) != 1 || ids[0].Type != IDTypeNAI || string(ids[0].Data) != "donald@duck.com" {
		t.Errorf("ID = %+v", ids)
	}
	if sps := m.SPs(); len(sps) != 1 || sps[0].PolicyNo != 0 || sps[0].ProtType != ProtSRTP || len(sps[0].Params) != 0 {
		t.Errorf("SP = %+v", sps)
	}
	k := m.KEMAC()
	if k.EncrAlg != EncrAESCM128 || len(k.EncrData) != 36 || k.MACAlg != MACHMACSHA1160 || len(k.MAC) != 20 {
		t.Errorf("KEMAC = alg %d, %d bytes, MAC alg %d, %d bytes", k.EncrAlg, len(k.EncrData), k.MACAlg, len(k.MAC))
	}
	if !bytes.HasPrefix(k.MAC, wireHex(t, "5f627a69")) || !bytes.HasSuffix(k.MAC, wireHex(t, "dcd5")) {
		t.Errorf("KEMAC MAC = %x", k.MAC)
	}
	// RFC 3830 §5.2: the PSK init MAC covers the message up to the MAC field of the final KEMAC.
	in, err := m.MACInput(false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, b[:len(b)-20]) {
		t.Errorf("MAC input is %d bytes, want the first %d", len(in), len(b)-20)
	}
}

func TestRFC4567Answer(t *testing.T) {
	b := wireB64(t, rfc4567Answer)
	if len(b) != 71 {
		t.Fatalf("answer is %d bytes, want 71", len(b))
	}
	m := wireRoundTrip(t, b)
	h := m.HDR
	// byte 3 is 0x80: the answer also sets V (RFC 4567 §5.1 bytes 01 01 05 80).
	if h.DataType != DataTypePSKVerify || !h.V || h.CSBID != 0xcd177e50 || h.NumCS != 1 || h.SRTPIDs[0] != (SRTPIDEntry{}) {
		t.Errorf("HDR = %+v", h)
	}
	if ts := m.T(); ts == nil || ts.TSType != TSNTPUTC || ts.Value != 0xc8e350ea00000000 {
		t.Errorf("T = %+v", ts)
	}
	if ids := m.ID(); len(ids) != 1 || ids[0].Type != IDTypeNAI || string(ids[0].Data) != "mickey@mouse.com" {
		t.Errorf("ID = %+v", ids)
	}
	v := m.V()
	if v == nil || v.MACAlg != MACHMACSHA1160 || !bytes.Equal(v.MAC, b[len(b)-20:]) ||
		!bytes.HasPrefix(v.MAC, wireHex(t, "9fc1dd18")) || !bytes.HasSuffix(v.MAC, wireHex(t, "e5c7")) {
		t.Errorf("V = %+v", v)
	}
	in, err := m.MACInput(false)
	if err != nil || !bytes.Equal(in, b[:len(b)-20]) {
		t.Errorf("MAC input = %x, %v", in, err)
	}
}
