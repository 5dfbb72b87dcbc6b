package mikey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// MIKEY base ticket (RFC 6043 Appendix A): the Ticket Data of a TICKET of type 1 is
//
//	Ticket Data = THDR, T, RAND, KEMAC, [IDRpsk], V
//
// protected with a Ticket Protection Key (TPK) that only the KMS holds in the IMS mode (mode 1):
// encr_key, salt_key and auth_key come from the TPK with the label
// const || 0xFF || 0xFFFFFFFF || 0x05 || len RAND || RAND (A.2.1) under the Ticket Policy's PRF;
// KEMAC = E(encr_key, MPK || {TEK|TGK|GTGK}) with NULL MAC and CSB ID 0xFFFFFFFF in the IV (A.1);
// V is the MAC over the whole TICKET payload except its Next Payload, Initiator Data length,
// Initiator Data and the MAC itself (A.1). MPKi and MPKr are split from the MPK (A.2.2).

// Base ticket Subtype and Version (RFC 6043 §6.10: Subtype 0x01 and Version 0x01 refer to the MIKEY
// base ticket as defined in Appendix A).
const (
	BaseTicketSubtype = 1
	BaseTicketVersion = 1
)

// baseTicketCSBID stands in for the CSB ID in the KEMAC IV (RFC 6043 A.1).
const baseTicketCSBID = 0xFFFFFFFF

// DefaultMPKLen is the MPK length CreateBaseTicket draws when none is given: 256 bits, the key
// length of HMAC-SHA-256-256 that MPKi protects TRANSFER_INIT with (RFC 6043 §6.2).
const DefaultMPKLen = 32

// ErrUnknownTPK is what a TPKLookup returns for a key id it does not hold (never issued, or retired
// after rotation). OpenBaseTicket answers it with Auth failure.
var ErrUnknownTPK = errors.New("mikey: unknown ticket protection key id")

// TPKLookup returns the Ticket Protection Key with the given THDR key id, or an error wrapping
// ErrUnknownTPK. Other errors are failures of the key store and are passed through.
type TPKLookup func(ctx context.Context, keyID uint32) (tpk []byte, err error)

// BaseTicketParams are the inputs of CreateBaseTicket.
type BaseTicketParams struct {
	// Policy is the granted Ticket Policy. TicketType, Subtype and TicketVersion are set to the base
	// ticket's (1, 1, 1) when zero and must be those otherwise. Its PRF derives the ticket keys and
	// the MPK split (RFC 6043 A.2.1, A.2.2); Flags must satisfy RFC 6043 §6.10.
	Policy TP
	KeyID  uint32 // goes into THDR: which TPK protects the ticket
	TPK    []byte
	// T is the time of issue (or a counter) that goes into the Ticket Data and feeds the KEMAC IV.
	T *T
	// Rand supplies RAND (DefaultRANDLen bytes) and, when MPK is nil, the MPK.
	Rand io.Reader
	MPK  []byte // DefaultMPKLen random bytes when nil
	// Keys are the session keys the ticket carries (TEK, TGK or GTGK, each with an SPI/MKI, RFC 6043
	// §6.2.1).
	Keys   []KeyData
	IDRpsk *IDR // optional (RFC 6043 A.1: MAY be omitted when the TPK can be found anyway)
	// EncrAlg and MACAlg protect the ticket; zero values mean AES-CM-128 and HMAC-SHA-256-256.
	EncrAlg EncrAlg
	MACAlg  MACAlg
}

// BaseTicketContents is what OpenBaseTicket recovers from a verified base ticket.
type BaseTicketContents struct {
	Policy TP
	KeyID  uint32
	T      T
	RAND   []byte
	MPK    []byte
	MPKi   []byte // MPK split with the Ticket Policy's PRF (RFC 6043 A.2.2)
	MPKr   []byte
	Keys   []KeyData
	IDRpsk *IDR
}

// String redacts the keys.
func (c BaseTicketContents) String() string {
	return fmt.Sprintf("BaseTicketContents{KeyID:%d T:%d/%#x Flags:%v MPK:[%d bytes redacted] %d session keys}",
		c.KeyID, c.T.TSType, c.T.Value, c.Policy.Flags, len(c.MPK), len(c.Keys))
}

// GoString redacts as String does.
func (c BaseTicketContents) GoString() string { return c.String() }

// LogValue redacts the keys.
func (c BaseTicketContents) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("key_id", uint64(c.KeyID)), slog.String("flags", c.Policy.Flags.String()),
		slog.Int("session_keys", len(c.Keys)), slog.String("keys", "redacted"))
}

// TicketKeys returns the keys as a KMS delivers them in the KEMAC of REQUEST_RESP or RESOLVE_RESP:
// MPKi, MPKr only with forking (flag I), and the session keys (RFC 6043 §4.2.1.5, §4.2.3.5).
func (c BaseTicketContents) TicketKeys() TicketKeys {
	k := TicketKeys{MPKi: c.MPKi, Keys: c.Keys}
	if c.Policy.Flags.Has(FlagI) {
		k.MPKr = c.MPKr
	}
	return k
}

// Valid reports whether now lies inside the ticket's validity period TRs..TRe of the Ticket Policy
// (RFC 6043 §6.10; an absent bound does not limit). COUNTER bounds cannot be compared with a clock.
func (c BaseTicketContents) Valid(now time.Time) error {
	for _, b := range []struct {
		role  TSRole
		after bool
	}{{TSRoleS, false}, {TSRoleE, true}} {
		tr := c.Policy.TR(b.role)
		if tr == nil {
			continue
		}
		at, err := tsTime(tr.TSType, tr.Value)
		if err != nil {
			return protoErr(ErrInvalidTPpar, "ticket validity: %v", err)
		}
		if (!b.after && now.Before(at)) || (b.after && now.After(at)) {
			return protoErr(ErrInvalidTPpar, "ticket valid from/until %s, now %s", at.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	return nil
}

// CreateBaseTicket builds and protects a MIKEY base ticket (RFC 6043 Appendix A). The result has
// no Initiator Data; the Initiator adds it with forking (RFC 6043 §6.10), outside the ticket MAC.
func CreateBaseTicket(p BaseTicketParams) (*TICKET, error) {
	pol := p.Policy
	if pol.TicketType == 0 && pol.Subtype == 0 && pol.TicketVersion == 0 {
		pol.TicketType, pol.Subtype, pol.TicketVersion = TicketMIKEYBase, BaseTicketSubtype, BaseTicketVersion
	}
	if pol.TicketType != TicketMIKEYBase || pol.Subtype != BaseTicketSubtype || pol.TicketVersion != BaseTicketVersion {
		return nil, fmt.Errorf("mikey: base ticket: policy names ticket type %d subtype %d version %d, want 1/1/1", pol.TicketType, pol.Subtype, pol.TicketVersion)
	}
	if err := pol.Flags.Validate(); err != nil {
		return nil, err
	}
	if err := checkSessionKeys(p.Keys, "mikey: base ticket"); err != nil {
		return nil, err
	}
	if pol.Flags.Has(FlagI) && !pol.Flags.Has(FlagF) && hasTGK(p.Keys) {
		return nil, errors.New("mikey: base ticket: forking (I) with a TGK in the ticket requires F (RFC 6043 §6.10)")
	}
	if len(p.TPK) == 0 {
		return nil, errors.New("mikey: base ticket: no TPK")
	}
	if p.T == nil {
		return nil, errors.New("mikey: base ticket: no T")
	}
	if err := checkIDR(p.IDRpsk, IDRolePSK, "base ticket IDRpsk"); err != nil {
		return nil, err
	}
	ea, ma := p.EncrAlg, p.MACAlg
	if ea == EncrNULL {
		ea = EncrAESCM128
	}
	if ma == MACNULL {
		ma = MACHMACSHA256256
	}
	if ea == EncrAESKW128 {
		// RFC 6043 A.1 builds the KEMAC IV from salt_key, CSB ID and T: a counter-mode IV.
		return nil, errors.New("mikey: base ticket: AES-KW is not supported, use AES-CM")
	}
	rand, err := randBytes(p.Rand, DefaultRANDLen, "base ticket RAND")
	if err != nil {
		return nil, err
	}
	mpk := p.MPK
	if len(mpk) == 0 {
		if mpk, err = randBytes(p.Rand, DefaultMPKLen, "MPK"); err != nil {
			return nil, err
		}
	}
	label, err := TPKLabel(rand)
	if err != nil {
		return nil, err
	}
	keys, err := DeriveMessageKeys(pol.PRF, p.TPK, label, ea, ma)
	if err != nil {
		return nil, fmt.Errorf("mikey: base ticket keys: %w", err)
	}
	kd := make([]KeyData, 0, 1+len(p.Keys))
	kd = append(kd, KeyData{Type: KeyMPK, Key: mpk})
	kd = append(kd, p.Keys...)
	plain, err := MarshalKeyDataList(kd)
	if err != nil {
		return nil, err
	}
	enc, err := EncryptKeyData(keys, baseTicketCSBID, p.T.IV64(), plain)
	clear(plain)
	if err != nil {
		return nil, err
	}
	macLen, _ := MACTagLen(ma)
	v := &V{MACAlg: ma, MAC: make([]byte, macLen)}
	ps := []Payload{p.T, &RAND{Data: rand}, &KEMAC{EncrAlg: ea, EncrData: enc, MACAlg: MACNULL}}
	if p.IDRpsk != nil {
		ps = append(ps, p.IDRpsk)
	}
	ps = append(ps, v)
	data := THDR{KeyID: p.KeyID}.appendTHDR(make([]byte, 0, 128+len(enc)), PayloadT)
	if data, _, err = appendChain(data, ps, true, false); err != nil {
		return nil, fmt.Errorf("mikey: base ticket Ticket Data: %w", err)
	}
	tk := &TICKET{Policy: pol, TicketData: data}
	in, err := baseTicketMACInput(tk, macLen)
	if err != nil {
		return nil, err
	}
	mac, err := ComputeMAC(ma, keys.Auth, in)
	if err != nil {
		return nil, err
	}
	copy(data[len(data)-macLen:], mac)
	return tk, nil
}

func hasTGK(kd []KeyData) bool {
	for _, k := range kd {
		if k.Type == KeyTGK || k.Type == KeyTGKSalt {
			return true
		}
	}
	return false
}

// baseTicketMACInput is the V input of RFC 6043 A.1: the TICKET payload without its Next Payload,
// Initiator Data length, Initiator Data and the MAC, i.e. the Ticket Policy fields, the Ticket Data
// length and the Ticket Data up to its final macLen bytes.
func baseTicketMACInput(t *TICKET, macLen int) ([]byte, error) {
	b, err := t.Policy.appendPolicy(make([]byte, 0, 64+len(t.TicketData)), "TICKET")
	if err != nil {
		return nil, err
	}
	if b, err = appendLenBytes(b, 2, t.TicketData, "TICKET Ticket Data"); err != nil {
		return nil, err
	}
	if macLen > len(t.TicketData) {
		return nil, fmt.Errorf("mikey: base ticket: Ticket Data shorter than its MAC")
	}
	return b[:len(b)-macLen], nil
}

func invalidTicket(format string, args ...any) *ProtocolError {
	return protoErr(ErrInvalidTICKET, "base ticket: "+format, args...)
}

// OpenBaseTicket verifies a MIKEY base ticket with the TPK its THDR names and decrypts it (RFC 6043
// Appendix A; the KMS's step 2 of RESOLVE_INIT processing, §5.3). Errors:
//   - not a base ticket (type/subtype/version), malformed Ticket Data, a THDR that is not ours, a
//     missing or repeated T/RAND/KEMAC, bad key data after a good MAC: *ProtocolError ErrInvalidTICKET;
//   - an unknown key id or a MAC that does not verify: *ProtocolError ErrAuthFailure;
//   - other lookup failures: the lookup's error, wrapped.
//
// The MAC is checked before anything encrypted is read, and compared in constant time.
func OpenBaseTicket(ctx context.Context, t *TICKET, lookup TPKLookup) (*BaseTicketContents, error) {
	if t == nil {
		return nil, invalidTicket("no TICKET")
	}
	pol := t.Policy
	if pol.TicketType != TicketMIKEYBase || pol.Subtype != BaseTicketSubtype || pol.TicketVersion != BaseTicketVersion {
		return nil, invalidTicket("ticket type %d subtype %d version %d is not the MIKEY base ticket 1/1/1", pol.TicketType, pol.Subtype, pol.TicketVersion)
	}
	d := &decoder{b: t.TicketData, end: len(t.TicketData)}
	thdr, next, err := parseTHDR(d)
	if err != nil {
		return nil, invalidTicket("Ticket Data: %v", err)
	}
	ps, _, err := parseChain(d, next, 0, true)
	if err != nil {
		return nil, invalidTicket("Ticket Data: %v", err)
	}
	if d.off != d.end {
		return nil, invalidTicket("Ticket Data: %d bytes after the last payload", d.end-d.off)
	}
	if len(ps) == 0 {
		return nil, invalidTicket("Ticket Data holds only the THDR")
	}
	var (
		ts     *T
		rnd    *RAND
		kemac  *KEMAC
		idrPSK *IDR
	)
	for i, p := range ps {
		switch q := p.(type) {
		case *T:
			if ts != nil {
				return nil, invalidTicket("Ticket Data: two T payloads")
			}
			ts = q
		case *RAND:
			if rnd != nil {
				return nil, invalidTicket("Ticket Data: two RAND payloads")
			}
			rnd = q
		case *KEMAC:
			if kemac != nil {
				return nil, invalidTicket("Ticket Data: two KEMAC payloads")
			}
			kemac = q
		case *IDR:
			if q.Role == IDRolePSK && idrPSK == nil {
				idrPSK = q
			}
		case *V:
			if i != len(ps)-1 {
				return nil, invalidTicket("Ticket Data: V is payload %d of %d, it must be last", i+1, len(ps))
			}
		}
		// Other payloads are unexpected and ignored (RFC 6043 Appendix A), but they are inside the MAC.
	}
	v, ok := ps[len(ps)-1].(*V)
	if !ok {
		return nil, invalidTicket("Ticket Data: last payload is %v, not V", ps[len(ps)-1].PayloadType())
	}
	if ts == nil || rnd == nil || kemac == nil {
		return nil, invalidTicket("Ticket Data lacks T, RAND or KEMAC")
	}
	if pe := checkMACAlg(v.MACAlg, "base ticket V"); pe != nil {
		return nil, pe
	}
	if pe := checkPRF(pol.PRF, "base ticket policy"); pe != nil {
		return nil, pe
	}
	if kemac.MACAlg != MACNULL {
		return nil, invalidTicket("KEMAC MAC alg %d: the base ticket KEMAC uses the NULL MAC (RFC 6043 A.1)", kemac.MACAlg)
	}
	if kemac.EncrAlg != EncrAESCM128 && kemac.EncrAlg != EncrAESCM256 {
		return nil, protoErr(ErrInvalidEA, "base ticket: KEMAC encryption %d: only AES-CM", kemac.EncrAlg)
	}
	if lookup == nil {
		return nil, errors.New("mikey: base ticket: no TPK lookup")
	}
	tpk, err := lookup(ctx, thdr.KeyID)
	if errors.Is(err, ErrUnknownTPK) {
		return nil, &ProtocolError{ErrNo: ErrAuthFailure, Err: fmt.Errorf("base ticket: TPK key id %d: %w", thdr.KeyID, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("mikey: base ticket: TPK key id %d: %w", thdr.KeyID, err)
	}
	label, err := TPKLabel(rnd.Data)
	if err != nil {
		return nil, invalidTicket("%v", err)
	}
	keys, err := DeriveMessageKeys(pol.PRF, tpk, label, kemac.EncrAlg, v.MACAlg)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "base ticket keys: %v", err)
	}
	in, err := baseTicketMACInput(t, len(v.MAC))
	if err != nil {
		return nil, invalidTicket("%v", err)
	}
	if err := VerifyMAC(v.MACAlg, keys.Auth, v.MAC, in); err != nil {
		return nil, &ProtocolError{ErrNo: ErrAuthFailure, Err: fmt.Errorf("base ticket V: %w", err)}
	}
	plain, err := DecryptKeyData(keys, baseTicketCSBID, ts.IV64(), kemac.EncrData)
	if err != nil {
		return nil, invalidTicket("KEMAC: %v", err)
	}
	kd, err := ParseKeyDataList(plain)
	if err != nil {
		return nil, invalidTicket("KEMAC key data: %v", err)
	}
	if len(kd) == 0 || kd[0].Type != KeyMPK {
		return nil, invalidTicket("KEMAC does not begin with the MPK")
	}
	if err := checkSessionKeys(kd[1:], "KEMAC"); err != nil {
		return nil, invalidTicket("%v", err)
	}
	if err := pol.Flags.Validate(); err != nil {
		return nil, protoErr(ErrInvalidTPpar, "base ticket: %v", err)
	}
	if pol.Flags.Has(FlagI) && !pol.Flags.Has(FlagF) && hasTGK(kd[1:]) {
		return nil, protoErr(ErrInvalidTPpar, "base ticket: forking (I) with a TGK in the ticket requires F (RFC 6043 §6.10)")
	}
	mpki, mpkr, err := SplitMPK(pol.PRF, kd[0].Key, rnd.Data)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "base ticket MPK split: %v", err)
	}
	return &BaseTicketContents{Policy: pol, KeyID: thdr.KeyID, T: *ts, RAND: rnd.Data, MPK: kd[0].Key,
		MPKi: mpki, MPKr: mpkr, Keys: kd[1:], IDRpsk: idrPSK}, nil
}
