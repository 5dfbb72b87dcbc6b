package mikey

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestSamplesRoundTrip(t *testing.T) {
	for _, s := range wireSamples {
		t.Run(s.name, func(t *testing.T) {
			built := s.msg()
			b, err := built.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m := wireRoundTrip(t, b)
			if !reflect.DeepEqual(m.HDR, built.HDR) {
				t.Errorf("HDR:\n got %+v\nwant %+v", m.HDR, built.HDR)
			}
			if !reflect.DeepEqual(m.Payloads, built.Payloads) {
				t.Errorf("payloads differ after decoding")
				for i := range m.Payloads {
					if i < len(built.Payloads) && !reflect.DeepEqual(m.Payloads[i], built.Payloads[i]) {
						t.Errorf("payload %d:\n got %+v\nwant %+v", i, m.Payloads[i], built.Payloads[i])
					}
				}
			}
		})
	}
}

// Every proper prefix of a valid message is truncated, and one byte more is trailing.
func TestTruncatedAndTrailing(t *testing.T) {
	for _, s := range wireSamples {
		b := sampleBytes(t, s)
		for n := 0; n < len(b); n++ {
			_, err := ParseMessage(b[:n])
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%s: prefix of %d/%d bytes: err = %v, want ErrTruncated", s.name, n, len(b), err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > n {
				t.Fatalf("%s: prefix %d: error offset %+v out of range", s.name, n, pe)
			}
		}
		_, err := ParseMessage(append(bytes.Clone(b), 0))
		var pe *ParseError
		if !errors.Is(err, ErrTrailingBytes) || !errors.As(err, &pe) || pe.Offset != len(b) {
			t.Errorf("%s: one trailing byte: err = %v, want ErrTrailingBytes at %d", s.name, err, len(b))
		}
	}
}

// GStreamer tests/check/libs/mikey.c (GStreamer/gstreamer @675d0400, tests create_common and
// create_payloads): HDR encodings and a T + KEMAC(NULL, NULL) message.
func TestGStreamerVectors(t *testing.T) {
	h := HDR{Version: 1, DataType: DataTypePSKInit, PRF: PRFMIKEY1, CSBID: 0x12345678, CSIDMapType: CSIDMapSRTPID}
	m := &Message{HDR: h}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := wireHex(t, "01000000123456780000"); !bytes.Equal(b, want) {
		t.Errorf("HDR = %x, want %x", b, want)
	}
	wireRoundTrip(t, b)

	m.HDR.NumCS = 2
	m.HDR.SRTPIDs = []SRTPIDEntry{{PolicyNo: 1, SSRC: 0x12345678, ROC: 0}, {PolicyNo: 2, SSRC: 0x23456789, ROC: 1}}
	if b, err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	if len(b) != 28 || !bytes.Equal(b[10:], wireHex(t, "011234567800000000022345678900000001")) {
		t.Errorf("HDR with two SRTP-ID entries = %x", b)
	}
	if got := wireRoundTrip(t, b); !reflect.DeepEqual(got.HDR.SRTPIDs, m.HDR.SRTPIDs) {
		t.Errorf("SRTP-ID entries = %+v", got.HDR.SRTPIDs)
	}

	m.HDR.NumCS, m.HDR.SRTPIDs = 0, nil
	m.Payloads = []Payload{&T{TSType: TSNTP, Value: 0x0102030405060708}}
	if b, err = m.Marshal(); err != nil || len(b) != 20 {
		t.Fatalf("HDR+T = %x (%d bytes), %v; want 20 bytes", b, len(b), err)
	}
	edata := wireHex(t, "102030405060708090a0b0c0d0e0f010")
	kd, err := MarshalKeyDataList([]KeyData{{Type: KeyTEK, KV: KVNull, Key: edata}})
	if err != nil {
		t.Fatal(err)
	}
	m.Payloads = append(m.Payloads, &KEMAC{EncrAlg: EncrNULL, EncrData: kd, MACAlg: MACNULL})
	if b, err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	got := wireRoundTrip(t, b)
	if len(got.Payloads) != 2 || got.T() == nil || got.KEMAC() == nil {
		t.Fatalf("payloads = %+v", got.Payloads)
	}
	k := got.KEMAC()
	if k.EncrAlg != EncrNULL || k.MACAlg != MACNULL {
		t.Errorf("KEMAC algs %d/%d", k.EncrAlg, k.MACAlg)
	}
	keys, err := k.KeyData()
	if err != nil || len(keys) != 1 {
		t.Fatalf("key data = %v, %v", keys, err)
	}
	if keys[0].Type != KeyTEK || !bytes.Equal(keys[0].Key, edata) || keys[0].Salt != nil || keys[0].KV != KVNull {
		t.Errorf("key data = %v", keys[0])
	}
}

func TestMACInput(t *testing.T) {
	// TRANSFER_INIT with key forking: computed independently by cutting the encoding by hand.
	m := sampleTransferInit()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tk := m.TICKET()
	withLen := append([]byte{byte(len(tk.InitiatorData) >> 8), byte(len(tk.InitiatorData))}, tk.InitiatorData...)
	i := bytes.Index(b, withLen)
	if i < 0 || bytes.Index(b[i+1:], withLen) >= 0 {
		t.Fatal("Initiator Data not found exactly once")
	}
	wantFull := b[:len(b)-32]
	wantExcl := append(bytes.Clone(b[:i]), b[i+len(withLen):len(b)-32]...)

	parsed, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string]*Message{"built": m, "parsed": parsed} {
		full, err := msg.MACInput(false)
		if err != nil || !bytes.Equal(full, wantFull) {
			t.Errorf("%s MACInput(false) = %x, %v", name, full, err)
		}
		excl, err := msg.MACInput(true)
		if err != nil || !bytes.Equal(excl, wantExcl) {
			t.Errorf("%s MACInput(true) = %x, %v\nwant %x", name, excl, err, wantExcl)
		}
	}

	// A built message whose V has no MAC yet gives the same input; after setting the MAC it encodes.
	fresh := sampleTransferInit()
	fresh.Payloads[len(fresh.Payloads)-1].(*V).MAC = nil
	in, err := fresh.MACInput(true)
	if err != nil || !bytes.Equal(in, wantExcl) {
		t.Errorf("MACInput with empty MAC = %x, %v", in, err)
	}
	if _, err := fresh.Marshal(); err == nil {
		t.Error("Marshal with an empty HMAC-SHA-256 MAC succeeded")
	}

	// Raw replaced by the caller: MACInput re-reads it.
	parsed.Raw = bytes.Clone(parsed.Raw)
	if in, err := parsed.MACInput(true); err != nil || !bytes.Equal(in, wantExcl) {
		t.Errorf("MACInput on a copied Raw = %x, %v", in, err)
	}

	if _, err := sampleRequestInitPSK().MACInput(true); err == nil {
		t.Error("MACInput(true) without a TICKET succeeded")
	}
	if _, err := sampleRequestInitPK().MACInput(false); err == nil {
		t.Error("MACInput of a message ending in SIGN succeeded")
	}
	// KEMAC-carried MAC (RFC 3830 PSK init).
	psk := samplePSKInit()
	pb, _ := psk.Marshal()
	if in, err := psk.MACInput(false); err != nil || !bytes.Equal(in, pb[:len(pb)-20]) {
		t.Errorf("PSK init MAC input = %x, %v", in, err)
	}
}

func TestFindHelpers(t *testing.T) {
	m := sampleTransferResp()
	if m.RANDR(RANDRoleR) == nil || m.RANDR(RANDRoleKMS) == nil || m.RANDR(RANDRoleI) != nil {
		t.Error("RANDR by role")
	}
	if m.IDR(IDRoleR) == nil || m.IDR(IDRoleI) != nil || len(m.SPs()) != 2 || m.V() == nil || m.T() == nil {
		t.Error("IDR/SPs/V/T")
	}
	if m.TICKET() != nil || m.KEMAC() != nil || m.ERR() != nil || m.TP() != nil || m.RAND() != nil || m.ID() != nil {
		t.Error("absent payloads found")
	}
	ri := sampleRequestInitPSK()
	tp := ri.TP()
	if tp == nil || len(tp.IDRs(IDRoleR)) != 1 || tp.TR(TSRoleR) == nil || tp.KEMAC() == nil || tp.TR(TSRoleI) != nil {
		t.Error("TP helpers")
	}
	if sampleError().ERR().ErrNo != ErrInvalidTPpar {
		t.Error("ERR")
	}
	g := &Message{HDR: emptyMapHDR(DataTypeTransferInit, false), Payloads: []Payload{NewSDPIDs("mikey", "sdes"), &TR{Role: TSRoleI, TSType: TSCOUNTER, Value: 5}}}
	if ids, err := g.GeneralExt(GenExtSDPIDs).SDPIDs(); err != nil || !reflect.DeepEqual(ids, []string{"mikey", "sdes"}) {
		t.Errorf("SDP IDs = %v, %v", ids, err)
	}
	if g.TR(TSRoleI).IV64() != 5 || g.GeneralExt(GenExtKeyID) != nil {
		t.Error("TR / GeneralExt")
	}
}

func TestMarshalErrors(t *testing.T) {
	cases := map[string]func(m *Message){
		"#CS vs SRTP-ID map":  func(m *Message) { m.HDR = samplePSKInit().HDR; m.HDR.NumCS = 3 },
		"#CS vs GENERIC-ID":   func(m *Message) { m.HDR.NumCS = 1 },
		"empty map entries":   func(m *Message) { m.HDR.CSIDMapType = CSIDMapEmpty },
		"unknown map type":    func(m *Message) { m.HDR.CSIDMapType = 9 },
		"version 2":           func(m *Message) { m.HDR.Version = 2 },
		"PRF 8 bits":          func(m *Message) { m.HDR.PRF = 0x80 },
		"duplicate CS ID":     func(m *Message) { m.HDR.GenericIDs[1].CSID = 1 },
		"SRTP session data":   func(m *Message) { m.HDR.GenericIDs[0].SessionData = []byte{1, 2, 3} },
		"V MAC length":        func(m *Message) { m.Payloads[len(m.Payloads)-1] = &V{MACAlg: MACHMACSHA1160, MAC: make([]byte, 32)} },
		"V unknown alg":       func(m *Message) { m.Payloads[len(m.Payloads)-1] = &V{MACAlg: 9} },
		"reserved IDR role":   func(m *Message) { m.Payloads[2] = &IDR{Role: 0, Type: IDTypeURI, Data: []byte("x")} },
		"reserved RANDR role": func(m *Message) { m.Payloads[1] = &RANDR{Role: 255, Data: []byte("x")} },
		"empty RANDR":         func(m *Message) { m.Payloads[1] = &RANDR{Role: RANDRoleI} },
		"empty IDR":           func(m *Message) { m.Payloads[2] = &IDR{Role: IDRoleI, Type: IDTypeURI} },
		"32-bit T overflow":   func(m *Message) { m.Payloads[0] = &T{TSType: TSNTPUTC32, Value: 1 << 32} },
		"unknown TS type":     func(m *Message) { m.Payloads[0] = &T{TSType: 4} },
		"SIGN not last":       func(m *Message) { m.Payloads[0] = &SIGN{} },
		"nil payload":         func(m *Message) { m.Payloads[3] = nil },
		"KeyData payload":     func(m *Message) { m.Payloads[3] = &TICKET{Policy: TP{Data: []Payload{&TP{}}}} },
		"flags overflow":      func(m *Message) { m.TICKET().Policy.Flags = 0x1000 },
		"KEMAC encr alg":      func(m *Message) { m.KEMAC().EncrAlg = 4 },
		"CHASH length":        func(m *Message) { m.Payloads[3] = &CHASH{HashFunc: HashSHA256, Hash: make([]byte, 20)} },
		"TR reserved role":    func(m *Message) { m.Payloads[3] = &TR{Role: 0, TSType: TSNTPUTC32} },
		"#P over 127":         func(m *Message) { m.HDR.GenericIDs[0].PolicyNos = make([]uint8, 128) },
		"ID data too long":    func(m *Message) { m.Payloads[2] = &IDR{Role: 1, Type: 1, Data: make([]byte, 70000)} },
	}
	for name, mod := range cases {
		m := sampleTransferInit()
		mod(m)
		if _, err := m.Marshal(); err == nil {
			t.Errorf("%s: Marshal succeeded", name)
		}
	}
}
