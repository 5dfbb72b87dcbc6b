package mikey

import "testing"

// Hand-built messages of every RFC 6043 §4 message type (payload order from RFC 6043 §4, Table in
// the spec digest §3.1) and an RFC 3830 PSK init message. The byte values are arbitrary but of the
// lengths the algorithms require; they serve the round-trip tests, the fuzz seeds and benchmarks.

func wireSeq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// fullSRTPPolicy is an SP for AES_CM_128_HMAC_SHA1_80 that names every SRTP parameter type 0-12
// (RFC 3830 §6.10.1).
func fullSRTPPolicy(no uint8) *SP {
	return &SP{PolicyNo: no, ProtType: ProtSRTP, Params: []SPParam{
		SRTPParamUint8(SPEncrAlg, SRTPEncrAESCM),
		SRTPParamUint8(SPEncrKeyLen, 16),
		SRTPParamUint8(SPAuthAlg, SRTPAuthSHA1),
		SRTPParamUint8(SPAuthKeyLen, 20),
		SRTPParamUint8(SPSaltKeyLen, 14),
		SRTPParamUint8(SPSRTPPRF, SRTPPRFAESCM),
		SRTPParamUint8(SPKeyDerivRate, 0),
		SRTPParamUint8(SPSRTPEncr, 1),
		SRTPParamUint8(SPSRTCPEncr, 1),
		SRTPParamUint8(SPFECOrder, SRTPFECSRTP),
		SRTPParamUint8(SPSRTPAuth, 1),
		SRTPParamUint8(SPAuthTagLen, 10),
		SRTPParamUint8(SPSRTPPrefixLen, 0),
	}}
}

func sampleTime() *T { return &T{TSType: TSNTPUTC, Value: 0xeb2f6a4c80000000} }

func sampleV() *V { return &V{MACAlg: MACHMACSHA256256, MAC: wireSeq(0x90, 32)} }

// sampleDesiredTP is a REQUEST_INIT TP: no K, a desired KEMAC with zeroed keys (RFC 6043 §6.10).
func sampleDesiredTP() *TP {
	desired, err := MarshalKeyDataList([]KeyData{
		{Type: KeyTGK, KV: KVSPI, Key: make([]byte, 16), SPI: []byte{0, 0, 0, 0}},
	})
	if err != nil {
		panic(err)
	}
	return &TP{TicketType: TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: PRFHMACSHA256,
		Flags: FlagE | FlagF | FlagH | FlagJ | FlagL,
		Data: []Payload{
			&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
			&IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.org")},
			&TR{Role: TSRoleS, TSType: TSNTPUTC32, Value: 0xeb2f6a4c},
			&TR{Role: TSRoleE, TSType: TSNTPUTC32, Value: 0xeb30bbcc},
			&TR{Role: TSRoleR, TSType: TSNTPUTC32, Value: 3600},
			&KEMAC{EncrAlg: EncrNULL, EncrData: desired, MACAlg: MACNULL},
			&IDR{Role: IDRoleApp, Type: IDTypeByteString, Data: []byte("imsphone")},
			&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
		}}
}

func sampleTicket(forking bool) *TICKET {
	f := FlagD | FlagE | FlagF | FlagH | FlagJ | FlagN | FlagO
	tk := &TICKET{Policy: TP{TicketType: TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: PRFHMACSHA256,
		Data: []Payload{
			&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
			&IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.org")},
			&TR{Role: TSRoleS, TSType: TSNTPUTC32, Value: 0xeb2f6a4c},
			&TR{Role: TSRoleE, TSType: TSNTPUTC32, Value: 0xeb30bbcc},
			&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
		}},
		TicketData: wireSeq(0x40, 96),
	}
	if forking {
		f |= FlagI
		id, err := MarshalPayloadData([]Payload{sampleV(), &V{MACAlg: MACHMACSHA256256, MAC: wireSeq(0xb0, 32)}})
		if err != nil {
			panic(err)
		}
		tk.InitiatorData = id
	}
	tk.Policy.Flags = f
	return tk
}

func sampleGenericIDHDR(dt DataType, v bool, initial bool) HDR {
	h := HDR{Version: 1, DataType: dt, V: v, PRF: PRFHMACSHA256, CSBID: 0x1a2b3c4d,
		CSIDMapType: CSIDMapGenericID, NumCS: 2}
	if initial {
		h.GenericIDs = []GenericIDEntry{
			{CSID: 1, ProtType: ProtSRTP, S: true, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x11223344, true, 0, 0x1234), SPI: []byte{0, 0, 0, 1}},
			{CSID: 2, ProtType: ProtSRTP, PolicyNos: []uint8{1, 2}},
		}
	} else {
		h.GenericIDs = []GenericIDEntry{
			{CSID: 1, ProtType: ProtSRTP, S: true, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x11223344, true, 0, 0x1234), SPI: []byte{0, 0, 0, 1}},
			{CSID: 2, ProtType: ProtSRTP, PolicyNos: []uint8{2}, SessionData: SRTPSessionData(0x55667788, false, 0, 0), SPI: []byte{0, 0, 0, 2}},
		}
	}
	return h
}

func emptyMapHDR(dt DataType, v bool) HDR {
	return HDR{Version: 1, DataType: dt, V: v, PRF: PRFHMACSHA256, CSBID: 0x1a2b3c4d, CSIDMapType: CSIDMapEmpty}
}

func sampleRequestInitPSK() *Message {
	return &Message{HDR: emptyMapHDR(DataTypeRequestInitPSK, true), Payloads: []Payload{
		sampleTime(),
		&RANDR{Role: RANDRoleI, Data: wireSeq(0xa0, 16)},
		&IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.org")},
		&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
		sampleDesiredTP(),
		&IDR{Role: IDRolePSK, Type: IDTypeNAI, Data: []byte("c2VjcmV0cmFuZA==@bsf.example.org")},
		sampleV(),
	}}
}

func sampleRequestInitPK() *Message {
	return &Message{HDR: emptyMapHDR(DataTypeRequestInitPK, true), Payloads: []Payload{
		sampleTime(),
		&RANDR{Role: RANDRoleI, Data: wireSeq(0xa0, 16)},
		&IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.org")},
		&CERT{Type: CertX509v3, Data: wireSeq(0x30, 40)},
		&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
		sampleDesiredTP(),
		&CHASH{HashFunc: HashSHA256, Hash: wireSeq(0x20, 32)},
		&PKE{C: 2, Data: wireSeq(0x60, 128)},
		&SIGN{SType: 1, Signature: wireSeq(0x70, 128)},
	}}
}

func sampleRequestResp() *Message {
	return &Message{HDR: emptyMapHDR(DataTypeRequestResp, false), Payloads: []Payload{
		sampleTime(),
		&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
		sampleTicket(false),
		&KEMAC{EncrAlg: EncrAESCM128, EncrData: wireSeq(0x10, 50), MACAlg: MACNULL},
		sampleV(),
	}}
}

func sampleTransferInit() *Message {
	return &Message{HDR: sampleGenericIDHDR(DataTypeTransferInit, true, true), Payloads: []Payload{
		sampleTime(),
		&RANDR{Role: RANDRoleI, Data: wireSeq(0xa0, 16)},
		&IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.org")},
		&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
		fullSRTPPolicy(1),
		&SP{PolicyNo: 2, ProtType: ProtSRTP, Params: []SPParam{SRTPParamUint8(SPAuthTagLen, 4)}},
		sampleTicket(true),
		&KEMAC{EncrAlg: EncrAESCM128, EncrData: wireSeq(0x10, 25), MACAlg: MACNULL},
		sampleV(),
	}}
}

func sampleTransferResp() *Message {
	return &Message{HDR: sampleGenericIDHDR(DataTypeTransferResp, false, false), Payloads: []Payload{
		sampleTime(),
		&RANDR{Role: RANDRoleR, Data: wireSeq(0xc0, 16)},
		&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
		&RANDR{Role: RANDRoleKMS, Data: wireSeq(0xe0, 16)},
		fullSRTPPolicy(1),
		fullSRTPPolicy(2),
		sampleV(),
	}}
}

func sampleResolveInitPSK() *Message {
	return &Message{HDR: emptyMapHDR(DataTypeResolveInitPSK, true), Payloads: []Payload{
		sampleTime(),
		&RANDR{Role: RANDRoleR, Data: wireSeq(0xc0, 16)},
		&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
		&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
		sampleTicket(true),
		&IDR{Role: IDRolePSK, Type: IDTypeByteString, Data: []byte("B-TID-of-bob@bsf.example.org")},
		sampleV(),
	}}
}

func sampleResolveInitPK() *Message {
	m := sampleResolveInitPSK()
	m.HDR.DataType = DataTypeResolveInitPK
	m.Payloads = append(m.Payloads[:5:5],
		&CHASH{HashFunc: HashSHA1, Hash: wireSeq(0, 20)},
		&PKE{Data: wireSeq(0x60, 256)},
		&SIGN{Signature: wireSeq(0x70, 256)})
	return m
}

func sampleResolveResp() *Message {
	return &Message{HDR: emptyMapHDR(DataTypeResolveResp, false), Payloads: []Payload{
		sampleTime(),
		&IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("https://kms.example.org")},
		&KEMAC{EncrAlg: EncrAESCM256, EncrData: wireSeq(0x10, 66), MACAlg: MACNULL},
		&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
		&RANDR{Role: RANDRoleKMS, Data: wireSeq(0xe0, 16)},
		sampleV(),
	}}
}

func sampleError() *Message {
	return &Message{HDR: emptyMapHDR(DataTypeError, false), Payloads: []Payload{
		sampleTime(), &ERR{ErrNo: ErrInvalidTPpar}, sampleV(),
	}}
}

// sampleTransferErr is an Error in the Transfer exchange: HDR, T, ERR, {SP}, [V] (RFC 6043 §4).
func sampleTransferErr() *Message {
	return &Message{HDR: sampleGenericIDHDR(DataTypeError, false, false), Payloads: []Payload{
		sampleTime(), &ERR{ErrNo: ErrInvalidSP}, fullSRTPPolicy(1), sampleV(),
	}}
}

// samplePSKInit is an RFC 3830 §3.1 PSK init message with an SRTP-ID map: HDR, T, RAND, [IDi],
// {SP}, KEMAC (AES-CM-128, HMAC-SHA-1-160), plus an SDP IDs extension (RFC 4567 §4.1).
func samplePSKInit() *Message {
	return &Message{HDR: HDR{Version: 1, DataType: DataTypePSKInit, V: true, PRF: PRFMIKEY1, CSBID: 0x12345678,
		CSIDMapType: CSIDMapSRTPID, NumCS: 2, SRTPIDs: []SRTPIDEntry{{PolicyNo: 1, SSRC: 0xdeadbeef, ROC: 0}, {PolicyNo: 1, SSRC: 0x01020304, ROC: 7}}},
		Payloads: []Payload{
			&T{TSType: TSNTPUTC, Value: 0xc8e350ea00000000},
			&RAND{Data: wireSeq(0x10, 16)},
			&ID{Type: IDTypeURI, Data: []byte("sip:alice@example.org")},
			&ID{Type: IDTypeURI, Data: []byte("sip:bob@example.org")},
			fullSRTPPolicy(1),
			&KEMAC{EncrAlg: EncrAESCM128, EncrData: wireSeq(0x80, 24), MACAlg: MACHMACSHA1160, MAC: wireSeq(0xf0, 20)},
		}}
}

type namedSample struct {
	name string
	msg  func() *Message
}

var wireSamples = []namedSample{
	{"REQUEST_INIT_PSK", sampleRequestInitPSK},
	{"REQUEST_INIT_PK", sampleRequestInitPK},
	{"REQUEST_RESP", sampleRequestResp},
	{"TRANSFER_INIT", sampleTransferInit},
	{"TRANSFER_RESP", sampleTransferResp},
	{"RESOLVE_INIT_PSK", sampleResolveInitPSK},
	{"RESOLVE_INIT_PK", sampleResolveInitPK},
	{"RESOLVE_RESP", sampleResolveResp},
	{"Error", sampleError},
	{"Error in Transfer", sampleTransferErr},
	{"PSK init (RFC 3830)", samplePSKInit},
}

func sampleBytes(t testing.TB, s namedSample) []byte {
	t.Helper()
	b, err := s.msg().Marshal()
	if err != nil {
		t.Fatalf("%s: Marshal: %v", s.name, err)
	}
	return b
}
