package mikey

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Hand-assembled byte strings (RFC 3830 §6 / RFC 6043 §6 layouts) with the error and offset the
// parser must report.
func TestParseMalformed(t *testing.T) {
	const hdrE = "010b0080 1a2b3c4d 0001" // REQUEST_INIT_PSK header, Empty map, no payload
	hdrNext := func(np string) string {   // the same header with Next Payload np
		return "010b" + np + "80 1a2b3c4d 0001"
	}
	cases := []struct {
		name string
		hex  string
		want error
		off  int
	}{
		{"empty", "", ErrTruncated, 0},
		{"short HDR", "010b0080", ErrTruncated, 0},
		{"version 0", "000b0080 1a2b3c4d 0001", ErrInvalidValue, 0},
		{"version 2", "020b0080 1a2b3c4d 0001", ErrInvalidValue, 0},
		{"map type 7", "010b0080 1a2b3c4d 0007", ErrInvalidValue, 9},
		{"unknown payload 19", hdrNext("13"), ErrUnknownPayload, 2},
		{"key data at top level", hdrNext("14"), ErrUnknownPayload, 2},
		{"payload 255", hdrNext("ff"), ErrUnknownPayload, 2},
		{"SRTP-ID #CS 2, one entry", "01000080 1a2b3c4d 0200 01 11111111 00000000", ErrTruncated, 19},
		{"GENERIC-ID SRTP session data 7", "010e0080 1a2b3c4d 0102 010080 0007 11223344556677 00", ErrInvalidValue, 13},
		{"GENERIC-ID S=0 session data 10", "010e0080 1a2b3c4d 0102 010000 000a 11223344556677889900 00", ErrInvalidValue, 13},
		{"GENERIC-ID session data overrun", "010e0080 1a2b3c4d 0102 010000 ffff", ErrTruncated, 13},
		{"GENERIC-ID Ps overrun", "010e0080 1a2b3c4d 0102 010005 0102", ErrTruncated, 13},
		{"GENERIC-ID SPI overrun", "010e0080 1a2b3c4d 0102 010000 0000 04 0102", ErrTruncated, 15},
		{"GENERIC-ID duplicate CS ID", "010e0080 1a2b3c4d 0202 010001 01 0000 00 010001 02 0000 00", ErrInvalidValue, 24},
		{"T unknown TS type", hdrNext("05") + "00 04 0000000000000000", ErrInvalidValue, 11},
		{"T short value", hdrNext("05") + "00 00 00000000", ErrTruncated, 12},
		{"T 32-bit with 8 bytes", hdrNext("05") + "00 03 0000000000000000", ErrTrailingBytes, 16},
		{"RANDR role 0", hdrNext("0f") + "00 00 01 aa", ErrInvalidValue, 11},
		{"RANDR role 255", hdrNext("0f") + "00 ff 01 aa", ErrInvalidValue, 11},
		{"RANDR length 0", hdrNext("0f") + "00 01 00", ErrInvalidValue, 12},
		{"RANDR length overrun", hdrNext("0f") + "00 01 10 aabb", ErrTruncated, 12},
		{"RAND length 0", hdrNext("0b") + "00 00", ErrInvalidValue, 11},
		{"IDR role 0", hdrNext("0e") + "00 00 01 0001 61", ErrInvalidValue, 11},
		{"IDR role 255", hdrNext("0e") + "00 ff 01 0001 61", ErrInvalidValue, 11},
		{"IDR length 0", hdrNext("0e") + "00 01 01 0000", ErrInvalidValue, 13},
		{"IDR length overrun", hdrNext("0e") + "00 01 01 0009 6161", ErrTruncated, 13},
		{"ID length 0", hdrNext("06") + "00 01 0000", ErrInvalidValue, 12},
		{"TR role 0", hdrNext("0d") + "00 00 03 00000001", ErrInvalidValue, 11},
		{"TR role 255", hdrNext("0d") + "00 ff 03 00000001", ErrInvalidValue, 11},
		{"V HMAC-SHA-1 with 10 bytes", hdrNext("09") + "00 01 00112233445566778899", ErrTruncated, 12},
		{"V HMAC-SHA-1 with 25 bytes", hdrNext("09") + "00 01" + strings.Repeat("ab", 25), ErrTrailingBytes, 32},
		{"V HMAC-SHA-256 with 20 bytes", hdrNext("09") + "00 02" + strings.Repeat("ab", 20), ErrTruncated, 12},
		{"V unknown MAC alg", hdrNext("09") + "00 03", ErrInvalidValue, 11},
		{"KEMAC encr data overrun", hdrNext("01") + "00 01 00ff 00", ErrTruncated, 12},
		{"KEMAC unknown encr alg", hdrNext("01") + "00 04 0000 00", ErrInvalidValue, 11},
		{"KEMAC MAC too short", hdrNext("01") + "00 00 0000 01 0011", ErrTruncated, 15},
		{"SP policy param length overrun", hdrNext("0a") + "00 01 00 0009 000101", ErrTruncated, 13},
		{"SP param value overrun", hdrNext("0a") + "00 01 00 0003 000501", ErrTruncated, 16},
		{"SP param cut", hdrNext("0a") + "00 01 00 0001 00", ErrTruncated, 16},
		{"ERR short", hdrNext("0c") + "00 0e 00", ErrTruncated, 12},
		{"CHASH unknown hash", hdrNext("08") + "00 03", ErrInvalidValue, 11},
		{"General Ext overrun", hdrNext("15") + "00 01 0005 6d696b", ErrTruncated, 12},
		{"TP data length 0", hdrNext("10") + "00 0001 01 01 0300 00 0000", ErrInvalidValue, 18},
		{"TP data length overrun", hdrNext("10") + "00 0001 01 01 0300 00 0010 00", ErrTruncated, 18},
		{"TP data nested TP", hdrNext("10") + "00 0001 01 01 0300 00 0001 10", ErrUnknownPayload, 20},
		{"TP data trailing", hdrNext("10") + "00 0001 01 01 0300 00 0002 00ff", ErrTrailingBytes, 21},
		{"TP data bad IDR role", hdrNext("10") + "00 0001 01 01 0300 00 0007 0e 00 00 01 0001 61", ErrInvalidValue, 22},
		{"TICKET data overrun", hdrNext("11") + "00 0001 01 01 0300 00 0001 00 0009 00", ErrTruncated, 21},
		{"TICKET no initiator data length", hdrNext("11") + "00 0001 01 01 0300 00 0001 00 0001 aa", ErrTruncated, 24},
		{"TICKET initiator data overrun", hdrNext("11") + "00 0001 01 01 0300 00 0001 00 0000 0003 09", ErrTruncated, 23},
		{"SIGN then bytes", hdrNext("04") + "0002 aabb cc", ErrTrailingBytes, 14},
		{"SIGN overrun", hdrNext("04") + "0005 aabb", ErrTruncated, 10},
		{"PKE overrun", hdrNext("02") + "00 4010 aabb", ErrTruncated, 11},
		{"DH unknown group", hdrNext("03") + "00 05", ErrInvalidValue, 11},
		{"DH short value", hdrNext("03") + "00 01 aabb", ErrTruncated, 12},
		{"trailing after last", hdrE + "00", ErrTrailingBytes, 10},
		{"chain cut after Next Payload", hdrNext("0b") + "0b 01 aa", ErrTruncated, 13},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := wireHex(t, strings.ReplaceAll(c.hex, " ", ""))
			_, err := ParseMessage(b)
			var pe *ParseError
			if !errors.Is(err, c.want) || !errors.As(err, &pe) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if pe.Offset != c.off {
				t.Errorf("offset %d, want %d (%v)", pe.Offset, c.off, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", pe.Offset)) || pe.Field == "" {
				t.Errorf("error text %q lacks field or offset", err)
			}
		})
	}
}

func TestParseKeyDataListMalformed(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
		off  int
	}{
		{"next payload 5 inside KEMAC", "05 00 0001 aa", ErrUnknownPayload, 0},
		{"announced key missing", "14 00 0001 aa", ErrTruncated, 5},
		{"empty key", "00 00 0000", ErrInvalidValue, 2},
		{"key overrun", "00 00 0010 aa", ErrTruncated, 2},
		{"unknown type 7", "00 70 0001 aa", ErrInvalidValue, 1},
		{"unknown KV 3", "00 03 0001 aa", ErrInvalidValue, 1},
		{"salt type without salt", "00 10 0001 aa 0000", ErrInvalidValue, 5},
		{"salt overrun", "00 30 0001 aa 0005 bb", ErrTruncated, 5},
		{"KV SPI empty", "00 21 0001 aa 00", ErrInvalidValue, 5},
		{"KV SPI overrun", "00 21 0001 aa 04 01", ErrTruncated, 5},
		{"KV interval cut", "00 22 0001 aa 06 000000000001", ErrTruncated, 12},
		{"trailing after last", "00 00 0001 aa ff", ErrTrailingBytes, 5},
	}
	for _, c := range cases {
		_, err := ParseKeyDataList(wireHex(t, strings.ReplaceAll(c.hex, " ", "")))
		var pe *ParseError
		if !errors.Is(err, c.want) || !errors.As(err, &pe) || pe.Offset != c.off {
			t.Errorf("%s: err = %v, want %v at %d", c.name, err, c.want, c.off)
		}
	}
}

func TestKeyDataList(t *testing.T) {
	ks := []KeyData{
		{Type: KeyMPK, KV: KVSPI, Key: wireSeq(0xc0, 16), SPI: []byte{0xff, 0xff, 0xff, 0xff}},
		{Type: KeyTGK, KV: KVSPI, Key: wireSeq(0, 16), SPI: []byte{0, 0, 0, 1}},
		{Type: KeyTEKSalt, KV: KVInterval, Key: wireSeq(0x10, 16), Salt: wireSeq(0x20, 14), VF: make([]byte, 6), VT: []byte{0, 0, 0xff, 0xff, 0xff, 0xff}},
		{Type: KeyGTGKSalt, KV: KVNull, Key: wireSeq(0x30, 32), Salt: wireSeq(0x40, 14)},
		{Type: KeyTEK, KV: KVNull, Key: []byte{1}},
		{Type: KeyGTGK, KV: KVSPI, Key: wireSeq(0x50, 16), SPI: []byte{9}},
		{Type: KeyTGKSalt, KV: KVSPI, Key: wireSeq(0x60, 16), Salt: []byte{1, 2}, SPI: []byte{1, 2}},
	}
	b, err := MarshalKeyDataList(ks)
	if err != nil {
		t.Fatal(err)
	}
	// First sub-payload by hand (RFC 3830 §6.13): NP 20, type 6 / KV 1, length 16, key, SPI length 4, SPI.
	want0 := append(append(wireHex(t, "14610010"), wireSeq(0xc0, 16)...), wireHex(t, "04ffffffff")...)
	if !bytes.HasPrefix(b, want0) {
		t.Errorf("first Key data = %x, want %x", b[:len(want0)], want0)
	}
	got, err := ParseKeyDataList(b)
	if err != nil || !reflect.DeepEqual(got, ks) {
		t.Fatalf("ParseKeyDataList = %v, %v", got, err)
	}
	again, _ := MarshalKeyDataList(got)
	if !bytes.Equal(again, b) {
		t.Error("re-encoding differs")
	}
	if l, err := ParseKeyDataList(nil); l != nil || err != nil {
		t.Errorf("empty list = %v, %v", l, err)
	}
	if s := fmt.Sprintf("%v %+v %#v", ks[0], ks[0], ks[0]); strings.Contains(s, "c0c1c2") || strings.Contains(s, "192") {
		t.Errorf("key data printing leaks the key: %s", s)
	}
	for name, k := range map[string]KeyData{
		"salt on TGK":     {Type: KeyTGK, Key: []byte{1}, Salt: []byte{1}},
		"no salt":         {Type: KeyTEKSalt, Key: []byte{1}},
		"no key":          {Type: KeyTGK},
		"SPI with KVNull": {Type: KeyTGK, Key: []byte{1}, SPI: []byte{1}},
		"KV SPI no SPI":   {Type: KeyTGK, KV: KVSPI, Key: []byte{1}},
		"interval + SPI":  {Type: KeyTGK, KV: KVInterval, Key: []byte{1}, SPI: []byte{1}},
		"unknown KV":      {Type: KeyTGK, KV: 5, Key: []byte{1}},
		"unknown type":    {Type: 9, Key: []byte{1}},
	} {
		if _, err := MarshalKeyDataList([]KeyData{k}); err == nil {
			t.Errorf("%s: MarshalKeyDataList succeeded", name)
		}
	}
}

// Each payload alone in a payload list: exact bytes from the RFC layouts, decode, re-encode.
func TestPayloadEncodings(t *testing.T) {
	cases := []struct {
		p   Payload
		hex string // the payload with its Next Payload (0)
	}{
		{&T{TSType: TSNTPUTC, Value: 0xc8e350ea00000000}, "00 00 c8e350ea00000000"},
		{&T{TSType: TSNTP, Value: 1}, "00 01 0000000000000001"},
		{&T{TSType: TSCOUNTER, Value: 0xfffffffe}, "00 02 fffffffe"},
		{&T{TSType: TSNTPUTC32, Value: 0xeb2f6a4c}, "00 03 eb2f6a4c"},
		{&TR{Role: TSRoleR, TSType: TSNTPUTC32, Value: 3600}, "00 04 03 00000e10"},
		{&TR{Role: TSRoleS, TSType: TSNTPUTC, Value: 2}, "00 02 00 0000000000000002"},
		{&RAND{Data: []byte{1, 2, 3}}, "00 03 010203"},
		{&RANDR{Role: RANDRoleKMS, Data: []byte{0xaa}}, "00 03 01 aa"},
		{&ID{Type: IDTypeNAI, Data: []byte("a@b")}, "00 00 0003 614062"},
		{&CERT{Type: CertX509v3URL, Data: []byte("u")}, "00 01 0001 75"},
		{&IDR{Role: IDRoleKMSr, Type: IDTypeByteString, Data: []byte{0}}, "00 07 02 0001 00"},
		{&V{MACAlg: MACNULL}, "00 00"},
		{&V{MACAlg: MACHMACSHA1160, MAC: wireSeq(0, 20)}, "00 01" + fmt.Sprintf("%x", wireSeq(0, 20))},
		{&ERR{ErrNo: ErrInvalidTICKET}, "00 0e 0000"},
		{&GeneralExt{Type: GenExtVendorID}, "00 00 0000"},
		{NewSDPIDs("mikey"), "00 01 0005 6d696b6579"},
		{&CHASH{HashFunc: HashMD5, Hash: wireSeq(0, 16)}, "00 01" + fmt.Sprintf("%x", wireSeq(0, 16))},
		{&SP{PolicyNo: 3, ProtType: ProtSRTP}, "00 03 00 0000"},
		{&SP{PolicyNo: 0, ProtType: 7, Params: []SPParam{{Type: 200, Value: nil}, {Type: 1, Value: []byte{0x10}}}}, "00 00 07 0005 c800 010110"},
		{&KEMAC{EncrAlg: EncrAESKW128, EncrData: []byte{1, 2}, MACAlg: MACNULL}, "00 02 0002 0102 00"},
		{&PKE{C: 1, Data: []byte{0xaa}}, "00 4001 aa"},
		{&SAKKE{Params: 1, IDScheme: 1, Data: []byte{0xbb, 0xcc}}, "00 01 01 0002 bbcc"},
		{&DH{Group: 1, Value: wireSeq(0, 96), KV: KVSPI, SPI: []byte{7}}, "00 01" + fmt.Sprintf("%x", wireSeq(0, 96)) + "01 0107"},
		{&DH{Group: 2, Value: wireSeq(0, 128), KV: KVInterval, VF: []byte{1}, VT: []byte{2, 3}}, "00 02" + fmt.Sprintf("%x", wireSeq(0, 128)) + "02 0101 020203"},
		{&SIGN{SType: 2, Signature: []byte{1, 2, 3}}, "2003 010203"},
	}
	for _, c := range cases {
		want := wireHex(t, strings.ReplaceAll(c.hex, " ", ""))
		if c.p.PayloadType() == PayloadSIGN {
			want = append([]byte{byte(PayloadSIGN)}, want...)
		} else {
			want = append([]byte{byte(c.p.PayloadType())}, want...)
		}
		b, err := MarshalPayloadData([]Payload{c.p})
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%T: encoding %x, %v; want %x", c.p, b, err, want)
			continue
		}
		ps, err := ParsePayloadData(b)
		if err != nil || len(ps) != 1 || !reflect.DeepEqual(ps[0], c.p) {
			t.Errorf("%T: decoded %+v, %v", c.p, ps, err)
		}
	}
}

func TestGenericIDSRTPSession(t *testing.T) {
	e := GenericIDEntry{CSID: 1, ProtType: ProtSRTP, S: true, SessionData: wireHex(t, "11223344 00000002 abcd")}
	ssrc, roc, seq, ok, err := e.SRTPSession()
	if err != nil || !ok || ssrc != 0x11223344 || roc != 2 || seq != 0xabcd {
		t.Errorf("SRTPSession = %x %d %x %v %v", ssrc, roc, seq, ok, err)
	}
	e = GenericIDEntry{CSID: 2, ProtType: ProtSRTP, SessionData: wireHex(t, "55667788")}
	if ssrc, roc, seq, ok, err = e.SRTPSession(); err != nil || !ok || ssrc != 0x55667788 || roc != 0 || seq != 0 {
		t.Errorf("SRTPSession S=0 = %x %d %x %v %v", ssrc, roc, seq, ok, err)
	}
	e = GenericIDEntry{CSID: 3, ProtType: ProtSRTP}
	if _, _, _, ok, err = e.SRTPSession(); ok || err != nil {
		t.Errorf("empty Session Data: ok %v err %v", ok, err)
	}
	e = GenericIDEntry{CSID: 4, ProtType: ProtSRTP, S: true, SessionData: wireHex(t, "55667788")}
	if _, _, _, _, err = e.SRTPSession(); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("S=1 with 4 bytes: err %v", err)
	}
	e = GenericIDEntry{CSID: 5, ProtType: 1}
	if _, _, _, _, err = e.SRTPSession(); err == nil {
		t.Error("non-SRTP prot type decoded")
	}
}

func TestTicketFlagsValidate(t *testing.T) {
	valid := []TicketFlags{
		FlagD | FlagH,                         // KMS ticket, no response, RANDRi only
		FlagL | FlagH,                         // Initiator-made ticket must allow L
		FlagD | FlagE | FlagF | FlagG | FlagH, // digest §10 interop default with G
		FlagD | FlagE | FlagF | FlagH | FlagI, // forking
		FlagD | FlagK | FlagF | FlagM | FlagG, // KMS changed policy, Responder keys
		FlagD | FlagF | FlagG | FlagJ | FlagN | FlagO,
	}
	for _, f := range valid {
		if err := f.Validate(); err != nil {
			t.Errorf("%v: %v", f, err)
		}
	}
	invalid := map[string]TicketFlags{
		"NOT D without L": FlagH,
		"G without F":     FlagD | FlagG,
		"NOT G, NOT H":    FlagD,
		"I without E":     FlagD | FlagH | FlagI | FlagF,
		"K without D":     FlagL | FlagH | FlagK,
		"M without F":     FlagD | FlagH | FlagM,
		"bit 12":          FlagD | FlagH | 0x1000,
	}
	for name, f := range invalid {
		if err := f.Validate(); err == nil {
			t.Errorf("%s (%v): Validate passed", name, f)
		}
	}
	if s := (FlagD | FlagO).String(); s != "D----------O" {
		t.Errorf("String = %q", s)
	}
}

// TP flags on the wire (RFC 6043 §6.10): PRF Func in bits 7..1 of byte 5, D in bit 0, E..L in
// byte 6, M N O in the top bits of byte 7, Res in the rest.
func TestTPFlagsWire(t *testing.T) {
	tp := &TP{TicketType: Ticket3GPPBase, Subtype: 2, TicketVersion: 3, PRF: PRFHMACSHA256,
		Flags: FlagD | FlagE | FlagL | FlagM | FlagO}
	b, err := MarshalPayloadData([]Payload{&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("r")}})
	if err != nil {
		t.Fatal(err)
	}
	tp.Data, _ = ParsePayloadData(b)
	m := &Message{HDR: emptyMapHDR(DataTypeRequestInitPSK, true), Payloads: []Payload{tp}}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got := raw[10:]
	if !bytes.Equal(got[:10], wireHex(t, "00000202030381a00007")) {
		t.Errorf("TP header = %x, want 00000202030381a00007", got[:10])
	}
	if !bytes.Equal(got[10:], b) {
		t.Errorf("TP Data = %x, want %x", got[10:], b)
	}
	// Reserved bits set on the wire are kept.
	raw[17] |= 0x1f
	back := wireRoundTrip(t, raw)
	if back.TP().Flags != tp.Flags {
		t.Errorf("flags %v, want %v", back.TP().Flags, tp.Flags)
	}
}

func TestKeyIDExt(t *testing.T) {
	g, err := NewKeyIDExt(KeyID{Type: 0, ID: []byte{1, 2}}, KeyID{Type: 2, ID: []byte{3}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Data, wireHex(t, "00020102 020103")) {
		t.Errorf("Key ID data = %x", g.Data)
	}
	ks, err := g.KeyIDs()
	if err != nil || len(ks) != 2 || ks[1].Type != 2 || !bytes.Equal(ks[1].ID, []byte{3}) {
		t.Errorf("KeyIDs = %+v, %v", ks, err)
	}
	if _, err := (&GeneralExt{Type: GenExtKeyID, Data: []byte{0, 5, 1}}).KeyIDs(); !errors.Is(err, ErrTruncated) {
		t.Errorf("overrunning Key ID: %v", err)
	}
	if _, err := (&GeneralExt{Type: GenExtSDPIDs}).KeyIDs(); err == nil {
		t.Error("KeyIDs on SDP IDs")
	}
	if _, err := g.SDPIDs(); err == nil {
		t.Error("SDPIDs on Key ID")
	}
}

func TestInitiatorPayloads(t *testing.T) {
	tk := sampleTicket(true)
	vi, vr, err := tk.InitiatorPayloads()
	if err != nil || !bytes.Equal(vi.MAC, wireSeq(0x90, 32)) || !bytes.Equal(vr.MAC, wireSeq(0xb0, 32)) {
		t.Errorf("Vi, Vr = %v %v %v", vi, vr, err)
	}
	// First Payload V, then Vi, Vr by hand.
	if tk.InitiatorData[0] != byte(PayloadV) || tk.InitiatorData[1] != byte(PayloadV) || tk.InitiatorData[35] != 0 {
		t.Errorf("Initiator Data = %x", tk.InitiatorData)
	}
	if _, _, err := sampleTicket(false).InitiatorPayloads(); err == nil {
		t.Error("empty Initiator Data decoded")
	}
}

func TestHDRStandalone(t *testing.T) {
	h := sampleGenericIDHDR(DataTypeTransferResp, false, false)
	b, err := h.Marshal(PayloadT)
	if err != nil {
		t.Fatal(err)
	}
	got, next, err := ParseHDR(b)
	if err != nil || next != PayloadT || !reflect.DeepEqual(got, h) {
		t.Errorf("ParseHDR = %+v %v %v", got, next, err)
	}
	if _, _, err := ParseHDR(append(b, 1)); !errors.Is(err, ErrTrailingBytes) {
		t.Errorf("trailing: %v", err)
	}
	// A built HDR without a version is version 1.
	h.Version = 0
	if b2, _ := h.Marshal(PayloadT); !bytes.Equal(b2, b) {
		t.Error("Version 0 not encoded as 1")
	}
}

func TestInChainMatchesNewPayload(t *testing.T) {
	for i := 0; i < 256; i++ {
		for _, inner := range []bool{false, true} {
			if inChain(PayloadType(i), inner) != (newPayload(PayloadType(i), inner) != nil) {
				t.Errorf("type %d inner %v: inChain and newPayload disagree", i, inner)
			}
		}
	}
}

func TestNoKeysInPrints(t *testing.T) {
	key := []byte("0123456789abcdef-secret-key-bytes")
	kd, err := MarshalKeyDataList([]KeyData{{Type: KeyTGK, KV: KVSPI, Key: key, SPI: []byte{1}}})
	if err != nil {
		t.Fatal(err)
	}
	k := &KEMAC{EncrAlg: EncrNULL, EncrData: kd, MACAlg: MACNULL}
	m := &Message{HDR: emptyMapHDR(DataTypeTransferInit, false), Payloads: []Payload{sampleTime(), k}}
	if _, err := m.Marshal(); err != nil {
		t.Fatal(err)
	}
	keys, _ := k.KeyData()
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		fmt.Sprintf("%v %+v %#v %s", m, m, m, m),
		fmt.Sprintf("%v %+v %#v", *m, *m, *k),
		fmt.Sprintf("%v %+v %#v", keys, keys, keys),
		fmt.Sprintf("%x", []byte(fmt.Sprint(m))),
	} {
		if strings.Contains(s, "secret") || strings.Contains(s, fmt.Sprintf("%x", key[:8])) || strings.Contains(s, "48 49 50") {
			t.Errorf("key material printed: %s", s)
		}
	}
	if !strings.Contains(m.String(), "T KEMAC") {
		t.Errorf("Message.String = %s", m)
	}
}
