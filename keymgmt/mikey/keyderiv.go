package mikey

import (
	"encoding/binary"
	"fmt"
	"log/slog"
)

// Key derivation constants: 32-bit chunks of the decimal digits of e (RFC 3830 §4.1.3, §4.1.4;
// RFC 6043 Table 5.1 and Table A.1).
const (
	// From a TGK, TGK' or GTGK (RFC 3830 Table 4.1.3, reused by RFC 6043 §5.1.3).
	ConstTEK     uint32 = 0x2AD01C64
	ConstTGKAuth uint32 = 0x1B5C7973
	ConstTGKEncr uint32 = 0x15798CEF
	ConstTGKSalt uint32 = 0x39A2C14B

	// From a PSK, envelope key, MPK or TPK: keys protecting MIKEY messages (RFC 3830 Table 4.1.4).
	ConstMsgEncr uint32 = 0x150533E1
	ConstMsgAuth uint32 = 0x2D22AC75
	ConstMsgSalt uint32 = 0x29B88916

	// Key forking (RFC 6043 Table 5.1).
	ConstForkMPKr uint32 = 0x2B288856
	ConstForkTGK  uint32 = 0x1512B54A

	// MPK split of the MIKEY base ticket (RFC 6043 Table A.1).
	ConstMPKi uint32 = 0x220E99A2
	ConstMPKr uint32 = 0x1F4D675B
)

// Direction selects the RFC 6043 §5.1.2 label byte of message keys.
type Direction uint8

const (
	DirInitial  Direction = 0x01 // REQUEST_INIT, TRANSFER_INIT, RESOLVE_INIT
	DirResponse Direction = 0x02 // REQUEST_RESP, TRANSFER_RESP, RESOLVE_RESP
)

// Label tags of RFC 6043 that follow 0xFF || 0xFFFFFFFF (or the CSB ID) in a label.
const (
	labelTagFork          = 0x00 // §5.1.1
	labelTagTGK           = 0x03 // §5.1.3
	labelTagInitiatorData = 0x04 // §6.10, Vr key
	labelTagTPK           = 0x05 // Appendix A.2.1
	labelTagMPK           = 0x06 // Appendix A.2.2
)

// KeyLabel is a PRF label without its leading 32-bit constant; the constant selects which key of
// a family is derived, the rest of the label is shared by the family.
type KeyLabel []byte

// withConst returns constant || l.
func (l KeyLabel) withConst(c uint32) []byte {
	b := make([]byte, 4+len(l))
	binary.BigEndian.PutUint32(b, c)
	copy(b[4:], l)
	return b
}

// RFC3830TGKLabel is the label tail of RFC 3830 §4.1.3 (keys from a TGK):
// cs_id || csb_id || RAND.
func RFC3830TGKLabel(csID uint8, csbID uint32, rand []byte) KeyLabel {
	l := make(KeyLabel, 0, 5+len(rand))
	l = append(l, csID)
	l = binary.BigEndian.AppendUint32(l, csbID)
	return append(l, rand...)
}

// RFC3830MessageLabel is the label tail of RFC 3830 §4.1.4 (keys protecting a MIKEY message,
// from the PSK or envelope key): 0xFF || csb_id || RAND.
func RFC3830MessageLabel(csbID uint32, rand []byte) KeyLabel {
	l := make(KeyLabel, 0, 5+len(rand))
	l = append(l, 0xFF)
	l = binary.BigEndian.AppendUint32(l, csbID)
	return append(l, rand...)
}

// appendRAND appends length RAND (8 bits) || RAND, the RAND part of RFC 6043 labels (§5.1: only the
// length and RAND fields, never the whole RANDR payload). An absent RAND is nil: length 0.
func appendRAND(l []byte, rand []byte, what string) ([]byte, error) {
	if len(rand) > 255 {
		return nil, fmt.Errorf("mikey: %s is %d bytes, a label carries at most 255", what, len(rand))
	}
	l = append(l, byte(len(rand)))
	return append(l, rand...), nil
}

// TicketMessageLabel is the label tail of RFC 6043 §5.1.2 (keys protecting MIKEY-TICKET messages,
// from a PSK, envelope key, MPKi or MPKr'):
// 0xFF || CSB ID || dir || length RANDRi || [RANDRi] || length RANDRr || [RANDRr].
// RANDRi is given for the Request and Transfer exchanges, RANDRr for the Resolve exchange and for
// TRANSFER_RESP when G = 1; at least one of them must be given.
func TicketMessageLabel(csbID uint32, dir Direction, randRi, randRr []byte) (KeyLabel, error) {
	if dir != DirInitial && dir != DirResponse {
		return nil, fmt.Errorf("mikey: message key direction %#x is neither initial nor response", uint8(dir))
	}
	if len(randRi) == 0 && len(randRr) == 0 {
		return nil, fmt.Errorf("mikey: message key label needs RANDRi or RANDRr (RFC 6043 §5.1.2)")
	}
	l := make([]byte, 0, 8+len(randRi)+len(randRr))
	l = append(l, 0xFF)
	l = binary.BigEndian.AppendUint32(l, csbID)
	l = append(l, byte(dir))
	l, err := appendRAND(l, randRi, "RANDRi")
	if err != nil {
		return nil, err
	}
	l, err = appendRAND(l, randRr, "RANDRr")
	if err != nil {
		return nil, err
	}
	return l, nil
}

// TicketTGKLabel is the label tail of RFC 6043 §5.1.3 (TEK, salt, encr and auth keys from a TGK,
// TGK' or GTGK): CS ID || 0xFFFFFFFF || 0x03 || length RANDRi || [RANDRi] || length RANDRr ||
// [RANDRr]. RANDRi is included only when useRi (the Ticket Policy H flag) and RANDRr only when
// useRr (the G flag); at least one must be used.
func TicketTGKLabel(csID uint8, randRi []byte, useRi bool, randRr []byte, useRr bool) (KeyLabel, error) {
	if !useRi && !useRr {
		return nil, fmt.Errorf("mikey: TGK label needs RANDRi (H) or RANDRr (G) (RFC 6043 §5.1.3)")
	}
	if useRi && len(randRi) == 0 {
		return nil, fmt.Errorf("mikey: TGK label: H = 1 but RANDRi is empty")
	}
	if useRr && len(randRr) == 0 {
		return nil, fmt.Errorf("mikey: TGK label: G = 1 but RANDRr is empty")
	}
	if !useRi {
		randRi = nil
	}
	if !useRr {
		randRr = nil
	}
	l := make([]byte, 0, 8+len(randRi)+len(randRr))
	l = append(l, csID, 0xFF, 0xFF, 0xFF, 0xFF, labelTagTGK)
	l, err := appendRAND(l, randRi, "RANDRi")
	if err != nil {
		return nil, err
	}
	return appendRAND(l, randRr, "RANDRr")
}

// ForkLabel is the label tail of RFC 6043 §5.1.1 (forking MPKr → MPKr' and TGK → TGK'):
// 0xFF || 0xFFFFFFFF || 0x00 || length ID Data (16 bits) || ID Data || length RANDRkms || RANDRkms.
// idData is the ID Data of the IDRr sent in RESOLVE_RESP and TRANSFER_RESP.
func ForkLabel(idData, randRkms []byte) (KeyLabel, error) {
	if len(idData) > 0xFFFF {
		return nil, fmt.Errorf("mikey: fork label: IDRr data is %d bytes, at most 65535", len(idData))
	}
	l := make([]byte, 0, 9+len(idData)+len(randRkms))
	l = append(l, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, labelTagFork)
	l = binary.BigEndian.AppendUint16(l, uint16(len(idData)))
	l = append(l, idData...)
	return appendRAND(l, randRkms, "RANDRkms")
}

// InitiatorDataLabel is the label tail of the Vr key of the TICKET Initiator Data (RFC 6043 §6.10):
// 0xFF || 0xFFFFFFFF || 0x04, used with the message constants of RFC 3830 §4.1.4 on MPKr.
func InitiatorDataLabel() KeyLabel {
	return KeyLabel{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, labelTagInitiatorData}
}

// TPKLabel is the label tail of RFC 6043 Appendix A.2.1 (base ticket keys from the Ticket
// Protection Key): 0xFF || 0xFFFFFFFF || 0x05 || length RAND || RAND, RAND from the Ticket Data.
func TPKLabel(rand []byte) (KeyLabel, error) {
	return appendRAND(KeyLabel{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, labelTagTPK}, rand, "ticket RAND")
}

// MPKLabel is the label tail of RFC 6043 Appendix A.2.2 (MPKi and MPKr from the MPK):
// 0xFF || 0xFFFFFFFF || 0x06 || length RAND || RAND, RAND from the Ticket Data.
func MPKLabel(rand []byte) (KeyLabel, error) {
	return appendRAND(KeyLabel{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, labelTagMPK}, rand, "ticket RAND")
}

// DeriveKey returns outLen bytes of PRF_f(inkey, constant || label).
func DeriveKey(f PRFFunc, inkey []byte, constant uint32, label KeyLabel, outLen int) ([]byte, error) {
	return PRF(f, inkey, label.withConst(constant), outLen)
}

// DeriveTEK derives a TEK (the SRTP master key) of outLen bytes from a TGK, TGK' or GTGK with an
// RFC 3830 §4.1.3 or RFC 6043 §5.1.3 label.
func DeriveTEK(f PRFFunc, tgk []byte, label KeyLabel, outLen int) ([]byte, error) {
	return DeriveKey(f, tgk, ConstTEK, label, outLen)
}

// DeriveTGKSalt derives a salting key from a TGK. RFC 3830 §4.1.3: a salt carried in the Key data
// sub-payload takes precedence and this derivation is used only without one.
func DeriveTGKSalt(f PRFFunc, tgk []byte, label KeyLabel, outLen int) ([]byte, error) {
	return DeriveKey(f, tgk, ConstTGKSalt, label, outLen)
}

// DeriveTGKAuth derives an authentication key directly from a TGK, for security protocols that
// cannot derive it from a TEK (RFC 3830 §4.1.3).
func DeriveTGKAuth(f PRFFunc, tgk []byte, label KeyLabel, outLen int) ([]byte, error) {
	return DeriveKey(f, tgk, ConstTGKAuth, label, outLen)
}

// DeriveTGKEncr derives an encryption key directly from a TGK, for security protocols that cannot
// derive it from a TEK (RFC 3830 §4.1.3).
func DeriveTGKEncr(f PRFFunc, tgk []byte, label KeyLabel, outLen int) ([]byte, error) {
	return DeriveKey(f, tgk, ConstTGKEncr, label, outLen)
}

// ForkMPKr derives MPKr' from MPKr (RFC 6043 §5.1.1) with the Ticket Policy's PRF. The output has
// the length of the input.
func ForkMPKr(f PRFFunc, mpkr, idData, randRkms []byte) ([]byte, error) {
	l, err := ForkLabel(idData, randRkms)
	if err != nil {
		return nil, err
	}
	return DeriveKey(f, mpkr, ConstForkMPKr, l, len(mpkr))
}

// ForkTGK derives TGK' from a TGK (RFC 6043 §5.1.1) with the Ticket Policy's PRF. TEKs and GTGKs
// are never forked.
func ForkTGK(f PRFFunc, tgk, idData, randRkms []byte) ([]byte, error) {
	l, err := ForkLabel(idData, randRkms)
	if err != nil {
		return nil, err
	}
	return DeriveKey(f, tgk, ConstForkTGK, l, len(tgk))
}

// SplitMPK derives MPKi and MPKr from the MPK of a MIKEY base ticket (RFC 6043 Appendix A.2.2)
// with the Ticket Policy's PRF; both have the MPK's length.
func SplitMPK(f PRFFunc, mpk, rand []byte) (mpki, mpkr []byte, err error) {
	l, err := MPKLabel(rand)
	if err != nil {
		return nil, nil, err
	}
	if mpki, err = DeriveKey(f, mpk, ConstMPKi, l, len(mpk)); err != nil {
		return nil, nil, err
	}
	if mpkr, err = DeriveKey(f, mpk, ConstMPKr, l, len(mpk)); err != nil {
		return nil, nil, err
	}
	return mpki, mpkr, nil
}

// MessageKeys are the keys protecting one MIKEY message or base ticket: encr_key and salt_key for
// the KEMAC, auth_key for the MAC (RFC 3830 §4.1.4, RFC 6043 §5.1.2, §6.10, A.2.1). A key the
// algorithms do not use is empty.
type MessageKeys struct {
	EncrAlg EncrAlg
	MACAlg  MACAlg
	Encr    []byte // encr_key
	Salt    []byte // salt_key: 14 bytes for AES-CM, 8 bytes (the IV) for AES-KW
	Auth    []byte // auth_key
}

// String redacts the keys.
func (k MessageKeys) String() string {
	return fmt.Sprintf("MessageKeys{EncrAlg:%d MACAlg:%d keys:redacted}", k.EncrAlg, k.MACAlg)
}

// LogValue redacts the keys.
func (k MessageKeys) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("encr_alg", int(k.EncrAlg)), slog.Int("mac_alg", int(k.MACAlg)),
		slog.String("keys", "redacted"))
}

// GoString redacts the keys for %#v as well.
func (k MessageKeys) GoString() string { return k.String() }

// DeriveMessageKeys derives the encr_key, salt_key and auth_key that ea and ma need from inkey (a
// PSK, envelope key, MPKi, MPKr', MPKr or TPK) with the RFC 3830 §4.1.4 constants and the given
// label tail (RFC3830MessageLabel, TicketMessageLabel, InitiatorDataLabel or TPKLabel).
func DeriveMessageKeys(f PRFFunc, inkey []byte, label KeyLabel, ea EncrAlg, ma MACAlg) (MessageKeys, error) {
	k := MessageKeys{EncrAlg: ea, MACAlg: ma}
	encrLen, saltLen, err := encrKeyLens(ea)
	if err != nil {
		return k, err
	}
	authLen, err := MACKeyLen(ma)
	if err != nil {
		return k, err
	}
	// One key buffer, one label buffer and one keyed HMAC per inkey chunk for all three keys.
	var st prfState
	if err := st.init(f, inkey); err != nil {
		return k, err
	}
	buf := make([]byte, encrLen+saltLen+authLen)
	lab := label.withConst(0)
	k.Encr = buf[:encrLen:encrLen]
	k.Salt = buf[encrLen : encrLen+saltLen : encrLen+saltLen]
	k.Auth = buf[encrLen+saltLen:]
	for _, d := range []struct {
		c   uint32
		out []byte
	}{{ConstMsgEncr, k.Encr}, {ConstMsgSalt, k.Salt}, {ConstMsgAuth, k.Auth}} {
		if len(d.out) > 0 {
			binary.BigEndian.PutUint32(lab, d.c)
			st.into(d.out, lab)
		}
	}
	return k, nil
}

// encrKeyLens returns the encr_key and salt_key lengths of a KEMAC encryption algorithm
// (RFC 3830 §4.2.3: 128-bit key and 112-bit salt for AES-CM, 64-bit salt as AES-KW IV;
// RFC 6043 §6.2: 256-bit key for AES-CM-256).
func encrKeyLens(ea EncrAlg) (encrLen, saltLen int, err error) {
	switch ea {
	case EncrNULL:
		return 0, 0, nil
	case EncrAESCM128:
		return 16, 14, nil
	case EncrAESCM256:
		return 32, 14, nil
	case EncrAESKW128:
		return 16, 8, nil
	}
	return 0, 0, fmt.Errorf("mikey: KEMAC encryption algorithm %d not supported", uint8(ea))
}
