package mikey

// Helpers shared by the exchanges (request.go, transfer.go, resolve.go, errmsg.go, psk.go): message
// sealing and MAC checks, KEMAC protection, payload collection and the errors the exchanges answer
// with (RFC 3830 §5.2, §5.3; RFC 6043 §5.4, §5.5).
//
// Verifiers check the MAC over Message.Raw and read the fields from the decoded payloads, so the
// message they get must come from ParseMessage unmodified. Their errors are *ProtocolError values
// carrying the ErrNo of the Error message to answer with (RFC 6043 §5.4: after an authentication
// failure the answer is optional and best left unauthenticated, RFC 3830 §5.1.2).

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Freshness applies the timestamp window and the replay cache of RFC 3830 §5.4 to a message whose
// MAC has verified (§5.3: only authenticated messages enter the replay cache). Verifiers take it as
// an optional last argument and call it with the message's T, the ID Data of the authenticated
// sender (see each verifier) and the RANDs that make the message unique, followed by the 4-byte CSB
// ID. A *ProtocolError with ErrInvalidTS is answered like the other verifier errors. CheckReplay
// (replay.go) fits it:
//
//	fresh := func(t *T, identity []byte, rands ...[]byte) error {
//		return CheckReplay(ctx, cache, window, now, identity, t, rands...)
//	}
//
// Without it, freshness and replay are left to the caller.
type Freshness func(t *T, identity []byte, rands ...[]byte) error

// checkFresh runs the optional Freshness of a verifier.
func checkFresh(fresh []Freshness, t *T, identity []byte, csbID uint32, rands ...[]byte) error {
	if len(fresh) == 0 || fresh[0] == nil {
		return nil
	}
	rands = append(rands, []byte{byte(csbID >> 24), byte(csbID >> 16), byte(csbID >> 8), byte(csbID)})
	return fresh[0](t, identity, rands...)
}

// DefaultRANDLen is the length of RAND, RANDRi and RANDRr this package generates: RFC 3830 §6.11
// says a RAND SHOULD be at least 128 bits.
const DefaultRANDLen = 16

// protoErr builds the *ProtocolError an exchange answers with (RFC 3830 §5.1.2, RFC 6043 §5.4).
func protoErr(n ErrNo, format string, args ...any) *ProtocolError {
	return &ProtocolError{ErrNo: n, Err: fmt.Errorf(format, args...)}
}

// errNotSupportedPK is returned for the PK variants of the Request and Resolve exchanges: this
// package implements the PSK methods only (the 3GPP profile uses GBA keys, digest §1).
func errNotSupportedPK(dt DataType) *ProtocolError {
	return protoErr(ErrMsgTypeNotSupp, "data type %d (public-key variant) is not supported, only the PSK variants", dt)
}

// randBytes reads n bytes from r (the injected randomness).
func randBytes(r io.Reader, n int, what string) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("mikey: %s: no random source given", what)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("mikey: %s: read random: %w", what, err)
	}
	return b, nil
}

// randCSBID draws a random CSB ID (RFC 3830 §6.1: chosen at random by the Initiator).
func randCSBID(r io.Reader) (uint32, error) {
	b, err := randBytes(r, 4, "CSB ID")
	if err != nil {
		return 0, err
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

// orRand returns v, or DefaultRANDLen fresh random bytes when v is empty.
func orRand(v []byte, r io.Reader, what string) ([]byte, error) {
	if len(v) > 0 {
		if len(v) > 255 {
			return nil, fmt.Errorf("mikey: %s is %d bytes, at most 255", what, len(v))
		}
		return v, nil
	}
	return randBytes(r, DefaultRANDLen, what)
}

// idData is the "Identity" of RFC 6043 Table 5.2 / RFC 3830 §5.2: the ID Data field only; an
// absent identity contributes nothing (digest §10 notes).
func idData(p *IDR) []byte {
	if p == nil {
		return nil
	}
	return p.Data
}

// senderID is the identity a replay cache files a message under: the PSK identifier when given,
// else the sender's IDR.
func senderID(psk, idr *IDR) []byte {
	if psk != nil {
		return psk.Data
	}
	return idData(idr)
}

func randrData(p *RANDR) []byte {
	if p == nil {
		return nil
	}
	return p.Data
}

// checkIDR checks that an optional IDR payload given to a builder has the role it is used for.
func checkIDR(p *IDR, role IDRole, what string) error {
	if p != nil && p.Role != role {
		return fmt.Errorf("mikey: %s has ID role %d, want %d", what, p.Role, role)
	}
	return nil
}

// idrRole is one IDR a builder was given and the role it must carry.
type idrRole struct {
	p    *IDR
	role IDRole
	what string
}

// checkIDRs runs checkIDR over each given IDR.
func checkIDRs(ids ...idrRole) error {
	for _, c := range ids {
		if err := checkIDR(c.p, c.role, c.what); err != nil {
			return err
		}
	}
	return nil
}

// initFresh is what makes an initiating message unique (RFC 3830 §5.4, §6.1; RFC 6043 §4.1): its
// timestamp, a CSB ID chosen at random by the Initiator, and its RAND (or RANDRi/RANDRr).
type initFresh struct {
	T    *T
	CSB  uint32
	RAND []byte
}

// newInitFresh copies t, keeps csb unless it is 0 (then draws one from r), and keeps rnd unless
// it is empty (then draws DefaultRANDLen bytes from r); what names the RAND in errors.
func newInitFresh(t *T, csb uint32, rnd []byte, r io.Reader, what string) (initFresh, error) {
	var f initFresh
	var err error
	if f.T, err = cloneT(t); err != nil {
		return f, err
	}
	f.CSB = csb
	if f.CSB == 0 {
		if f.CSB, err = randCSBID(r); err != nil {
			return f, err
		}
	}
	if f.RAND, err = orRand(rnd, r, what); err != nil {
		return f, err
	}
	return f, nil
}

// appendIDR appends p (when given) to ps.
func appendIDR(ps []Payload, p *IDR) []Payload {
	if p != nil {
		return append(ps, p)
	}
	return ps
}

// sealV computes the MAC of the message's final V payload over MACInput(excludeInitiatorData)
// followed by extra (RFC 6043 Table 5.2, RFC 3830 §5.2) and marshals the message (Raw is set).
//
// The message is encoded once, with a zero MAC of the right length; the MAC is then written over
// the last bytes, which are the MAC field because V is the last payload.
func sealV(m *Message, excludeInitiatorData bool, v *V, authKey []byte, extra ...[]byte) ([]byte, error) {
	if lastPayload(m) != Payload(v) {
		return nil, fmt.Errorf("mikey: V is not the last payload")
	}
	n, err := MACTagLen(v.MACAlg)
	if err != nil {
		return nil, err
	}
	v.MAC = make([]byte, n)
	raw, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	in, err := m.MACInput(excludeInitiatorData)
	if err != nil {
		return nil, err
	}
	parts := append([][]byte{in}, extra...)
	mac, err := ComputeMAC(v.MACAlg, authKey, parts...)
	if err != nil {
		return nil, err
	}
	copy(v.MAC, mac)
	copy(raw[len(raw)-n:], mac)
	return raw, nil
}

// checkMACAlg rejects MAC algorithms that cannot authenticate a message: RFC 6043 §4.2.1.2 and
// §4.2.3.2 make the V MAC mandatory, and RFC 3830 §4.2.4 allows NULL only when the transport is
// secure, which this package cannot know.
func checkMACAlg(ma MACAlg, what string) *ProtocolError {
	if _, err := MACTagLen(ma); err != nil {
		return protoErr(ErrInvalidMAC, "%s: %v", what, err)
	}
	if ma == MACNULL {
		return protoErr(ErrInvalidMAC, "%s: NULL MAC cannot authenticate the message", what)
	}
	return nil
}

// verifyFinalV checks that the message ends with a V payload and that its MAC verifies over
// MACInput(excludeInitiatorData) || extra with authKey. Failures are Auth failure (RFC 3830 §5.3).
func verifyFinalV(m *Message, excludeInitiatorData bool, authKey []byte, extra ...[]byte) *ProtocolError {
	v, ok := lastPayload(m).(*V)
	if !ok {
		return protoErr(ErrAuthFailure, "last payload is not V")
	}
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return pe
	}
	in, err := m.MACInput(excludeInitiatorData)
	if err != nil {
		return protoErr(ErrUnspecified, "MAC input: %v", err)
	}
	parts := append([][]byte{in}, extra...)
	if err := VerifyMAC(v.MACAlg, authKey, v.MAC, parts...); err != nil {
		return &ProtocolError{ErrNo: ErrAuthFailure, Err: err}
	}
	return nil
}

func lastPayload(m *Message) Payload {
	if len(m.Payloads) == 0 {
		return nil
	}
	return m.Payloads[len(m.Payloads)-1]
}

// checkPRF answers an HDR PRF this package cannot run with Invalid PRF.
func checkPRF(f PRFFunc, what string) *ProtocolError {
	if _, err := prfHash(f); err != nil {
		return protoErr(ErrInvalidPRF, "%s: %v", what, err)
	}
	return nil
}

// sealKEMAC builds a MIKEY-TICKET KEMAC: the key data encrypted with keys (encr_key, salt_key)
// under the IV of RFC 3830 §4.2.3 from csbID and the T of the carrying message, NULL MAC because V
// carries the MAC (RFC 6043 §4.2.1.5, §4.2.3.5, §5.2).
func sealKEMAC(keys MessageKeys, csbID uint32, t *T, kd []KeyData) (*KEMAC, error) {
	plain, err := MarshalKeyDataList(kd)
	if err != nil {
		return nil, err
	}
	enc, err := EncryptKeyData(keys, csbID, t.IV64(), plain)
	if err != nil {
		return nil, err
	}
	return &KEMAC{EncrAlg: keys.EncrAlg, EncrData: enc, MACAlg: MACNULL}, nil
}

// openKEMAC decrypts and decodes a KEMAC received in a message whose MAC has been verified. The
// encryption algorithm comes from the KEMAC; keys are derived here with the label of the message.
// A MIKEY-TICKET KEMAC must have the NULL MAC (RFC 6043 §4.2.1.5).
func openKEMAC(k *KEMAC, f PRFFunc, inkey []byte, label KeyLabel, csbID uint32, t *T, wantNULLMAC bool) ([]KeyData, error) {
	if wantNULLMAC && k.MACAlg != MACNULL {
		return nil, protoErr(ErrInvalidMAC, "KEMAC MAC alg %d: MIKEY-TICKET KEMACs use the NULL MAC (RFC 6043 §4.2.1.5)", k.MACAlg)
	}
	if _, _, err := encrKeyLens(k.EncrAlg); err != nil {
		return nil, protoErr(ErrInvalidEA, "KEMAC: %v", err)
	}
	keys, err := DeriveMessageKeys(f, inkey, label, k.EncrAlg, MACNULL)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "KEMAC keys: %v", err)
	}
	plain, err := DecryptKeyData(keys, csbID, t.IV64(), k.EncrData)
	if err != nil {
		return nil, protoErr(ErrAuthFailure, "KEMAC: %v", err)
	}
	kd, err := ParseKeyDataList(plain)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "KEMAC key data: %v", err)
	}
	return kd, nil
}

// openSessionKEMAC opens a MIKEY-TICKET KEMAC (NULL MAC) that carries session keys, and checks
// them (checkSessionKeys); what names the KEMAC in errors.
func openSessionKEMAC(k *KEMAC, f PRFFunc, inkey []byte, label KeyLabel, csbID uint32, t *T, what string) ([]KeyData, error) {
	kd, err := openKEMAC(k, f, inkey, label, csbID, t, true)
	if err != nil {
		return nil, err
	}
	if err := checkSessionKeys(kd, what); err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	return kd, nil
}

// checkSessionKeys enforces RFC 6043 §6.2.1 on session keys (TEK, TGK, GTGK): MIKEY-TICKET needs an
// SPI/MKI for every key, since the GENERIC-ID SPI selects the key to use first.
func checkSessionKeys(kd []KeyData, what string) error {
	for i, k := range kd {
		switch k.Type {
		case KeyTGK, KeyTGKSalt, KeyTEK, KeyTEKSalt, KeyGTGK, KeyGTGKSalt:
		default:
			return fmt.Errorf("%s: key %d has type %d, want TEK, TGK or GTGK", what, i+1, k.Type)
		}
		if k.KV != KVSPI {
			return fmt.Errorf("%s: key %d has no SPI/MKI (RFC 6043 §6.2.1 requires one for every key)", what, i+1)
		}
	}
	return nil
}

// TicketKeys are the keys a KMS delivers in the KEMAC of REQUEST_RESP or RESOLVE_RESP (RFC 6043
// §4.2.1.5, §4.2.3.5): KEMAC = E(encr_key, MPKi || [MPKr] || {TEK|TGK|GTGK}).
type TicketKeys struct {
	MPKi []byte    // protects TRANSFER_INIT (and TRANSFER_RESP without forking)
	MPKr []byte    // with forking only: MPKr (REQUEST_RESP) or MPKr' (RESOLVE_RESP)
	Keys []KeyData // session keys; TGKs are TGK' in RESOLVE_RESP with forking
}

// String redacts the keys.
func (k TicketKeys) String() string {
	return fmt.Sprintf("TicketKeys{MPKi: [%d bytes redacted], MPKr: [%d bytes redacted], %d session keys}",
		len(k.MPKi), len(k.MPKr), len(k.Keys))
}

// GoString redacts as String does.
func (k TicketKeys) GoString() string { return k.String() }

// LogValue redacts the keys.
func (k TicketKeys) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("mpki_len", len(k.MPKi)), slog.Int("mpkr_len", len(k.MPKr)),
		slog.Int("session_keys", len(k.Keys)))
}

// keyData returns the KEMAC contents MPKi || [MPKr] || keys as key data sub-payloads.
func (k TicketKeys) keyData(forking bool) ([]KeyData, error) {
	if len(k.MPKi) == 0 {
		return nil, errors.New("mikey: ticket keys without MPKi (RFC 6043 §4.2.1.5: the KEMAC SHALL include MPKi)")
	}
	if forking != (len(k.MPKr) > 0) {
		return nil, fmt.Errorf("mikey: ticket keys: forking (I) is %v but MPKr is %d bytes", forking, len(k.MPKr))
	}
	if err := checkSessionKeys(k.Keys, "mikey: ticket keys"); err != nil {
		return nil, err
	}
	kd := make([]KeyData, 0, 2+len(k.Keys))
	kd = append(kd, KeyData{Type: KeyMPK, Key: k.MPKi})
	if forking {
		kd = append(kd, KeyData{Type: KeyMPK, Key: k.MPKr})
	}
	return append(kd, k.Keys...), nil
}

// ticketKeysFrom splits a decrypted KEMAC of REQUEST_RESP or RESOLVE_RESP into MPKi, [MPKr] and the
// session keys.
func ticketKeysFrom(kd []KeyData, forking bool) (TicketKeys, *ProtocolError) {
	var k TicketKeys
	n := 1
	if forking {
		n = 2
	}
	if len(kd) < n {
		return k, protoErr(ErrUnspecified, "KEMAC holds %d keys, want MPKi%s first", len(kd), map[bool]string{true: " and MPKr", false: ""}[forking])
	}
	for i := 0; i < n; i++ {
		if kd[i].Type != KeyMPK {
			return k, protoErr(ErrUnspecified, "KEMAC key %d has type %d, want MPK", i+1, kd[i].Type)
		}
	}
	k.MPKi = kd[0].Key
	if forking {
		k.MPKr = kd[1].Key
	}
	k.Keys = kd[n:]
	if err := checkSessionKeys(k.Keys, "KEMAC"); err != nil {
		return k, protoErr(ErrUnspecified, "%v", err)
	}
	return k, nil
}

// Fork returns the keys as the forked Responder sees them (RFC 6043 §5.1.1): MPKr' from MPKr and
// TGK' from every TGK (with its salt, which is not forked), TEKs and GTGKs unchanged. f is the
// Ticket Policy's PRF; idData and randRkms are the modifier (IDRr and RANDRkms of RESOLVE_RESP and
// TRANSFER_RESP). The KMS forks before sending RESOLVE_RESP; the Initiator after TRANSFER_RESP.
func (k TicketKeys) Fork(f PRFFunc, idData, randRkms []byte) (TicketKeys, error) {
	if len(k.MPKr) == 0 {
		return TicketKeys{}, errors.New("mikey: fork: no MPKr")
	}
	out := TicketKeys{MPKi: k.MPKi, Keys: make([]KeyData, len(k.Keys))}
	var err error
	if out.MPKr, err = ForkMPKr(f, k.MPKr, idData, randRkms); err != nil {
		return TicketKeys{}, err
	}
	for i, kd := range k.Keys {
		if kd.Type == KeyTGK || kd.Type == KeyTGKSalt {
			if kd.Key, err = ForkTGK(f, kd.Key, idData, randRkms); err != nil {
				return TicketKeys{}, err
			}
		}
		out.Keys[i] = kd
	}
	return out, nil
}

// parts collects the payloads of a received message by type and role. A defined payload that
// appears twice is ambiguous (which identity or RAND did the MAC cover?) and is rejected; payload
// types a message does not define are left for the caller to ignore (RFC 6043 §4.2.1.4: unexpected
// payloads SHOULD be ignored).
type parts struct {
	t                        *T
	rand                     *RAND
	randRi, randRr, randRkms *RANDR
	idRi, idRr, idRkms       *IDR
	idRpsk                   *IDR
	ids                      []*ID
	tp                       *TP
	ticket                   *TICKET
	kemac                    *KEMAC
	sps                      []*SP
	errs                     []*ERR
	v                        *V
}

func collect(m *Message) (*parts, *ProtocolError) {
	p := new(parts)
	dup := func(what string) *ProtocolError {
		return protoErr(ErrUnspecified, "%s appears more than once", what)
	}
	for _, q := range m.Payloads {
		switch q := q.(type) {
		case *T:
			if p.t != nil {
				return nil, dup("T")
			}
			p.t = q
		case *RAND:
			if p.rand != nil {
				return nil, dup("RAND")
			}
			p.rand = q
		case *RANDR:
			var slot **RANDR
			switch q.Role {
			case RANDRoleI:
				slot = &p.randRi
			case RANDRoleR:
				slot = &p.randRr
			case RANDRoleKMS:
				slot = &p.randRkms
			default:
				continue
			}
			if *slot != nil {
				return nil, dup(fmt.Sprintf("RANDR role %d", q.Role))
			}
			*slot = q
		case *IDR:
			var slot **IDR
			switch q.Role {
			case IDRoleI:
				slot = &p.idRi
			case IDRoleR:
				slot = &p.idRr
			case IDRoleKMS:
				slot = &p.idRkms
			case IDRolePSK:
				slot = &p.idRpsk
			default:
				continue
			}
			if *slot != nil {
				return nil, dup(fmt.Sprintf("IDR role %d", q.Role))
			}
			*slot = q
		case *ID:
			p.ids = append(p.ids, q)
		case *TP:
			if p.tp != nil {
				return nil, dup("TP")
			}
			p.tp = q
		case *TICKET:
			if p.ticket != nil {
				return nil, dup("TICKET")
			}
			p.ticket = q
		case *KEMAC:
			if p.kemac != nil {
				return nil, dup("KEMAC")
			}
			p.kemac = q
		case *SP:
			p.sps = append(p.sps, q)
		case *ERR:
			p.errs = append(p.errs, q)
		case *V:
			if p.v != nil {
				return nil, dup("V")
			}
			p.v = q
		}
	}
	return p, nil
}

// checkDataType answers a message of the wrong type with Invalid DT, and the PK variants with
// Message type not supported.
func checkDataType(m *Message, want DataType) *ProtocolError {
	switch dt := m.HDR.DataType; {
	case dt == want:
		return nil
	case dt == DataTypeRequestInitPK || dt == DataTypeResolveInitPK:
		return errNotSupportedPK(dt)
	default:
		return protoErr(ErrInvalidDT, "data type %d, want %d", dt, want)
	}
}

// checkInitHDR applies the HDR rules of REQUEST_INIT and RESOLVE_INIT (RFC 6043 §4.2.1.1,
// §4.2.3.1): no crypto sessions, Empty map, and so (RFC 4563 §5) no SP payload. The V flag is
// ignored as the RFC says.
func checkInitHDR(m *Message, p *parts) *ProtocolError {
	if m.HDR.NumCS != 0 || m.HDR.CSIDMapType != CSIDMapEmpty {
		return protoErr(ErrUnspecified, "HDR #CS %d, map type %d: want 0 and the Empty map (RFC 6043 §4.2.1.1)", m.HDR.NumCS, m.HDR.CSIDMapType)
	}
	if len(p.sps) > 0 {
		return protoErr(ErrInvalidSP, "SP payload with the Empty map (RFC 4563 §5)")
	}
	return checkPRF(m.HDR.PRF, "HDR")
}

// checkRespHDR applies the response HDR rule: version, PRF func and CSB ID copied from the initial
// message, and for KMS responses also #CS and the map type (RFC 6043 §4.2.1.5, §4.2.3.5).
func checkRespHDR(h, init HDR, kms bool) *ProtocolError {
	if h.PRF != init.PRF || h.CSBID != init.CSBID {
		return protoErr(ErrUnspecified, "HDR PRF %d / CSB ID %#x differ from the initial message's %d / %#x", h.PRF, h.CSBID, init.PRF, init.CSBID)
	}
	if kms && (h.NumCS != init.NumCS || h.CSIDMapType != init.CSIDMapType) {
		return protoErr(ErrUnspecified, "HDR #CS %d / map type %d differ from the initial message's %d / %d", h.NumCS, h.CSIDMapType, init.NumCS, init.CSIDMapType)
	}
	return nil
}

// checkTicketFlags answers a Ticket Policy that breaks the flag implications of RFC 6043 §6.10 with
// Invalid TPpar.
func checkTicketFlags(tp *TP, what string) *ProtocolError {
	if err := tp.Flags.Validate(); err != nil {
		return &ProtocolError{ErrNo: ErrInvalidTPpar, Err: fmt.Errorf("%s: %w", what, err)}
	}
	if tp.PRF != PRFMIKEY1 && tp.PRF != PRFHMACSHA256 {
		return protoErr(ErrInvalidTPpar, "%s: PRF func %d not supported", what, tp.PRF)
	}
	return nil
}

// equalMAC compares two MAC fields in constant time.
func equalMAC(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// collectTimed is the start of every exchange's verification: the data type must be want, the
// payloads are collected (collect), and a T payload is mandatory (RFC 3830 §5.4, RFC 6043 §4.1).
func collectTimed(m *Message, want DataType) (*parts, *ProtocolError) {
	if pe := checkDataType(m, want); pe != nil {
		return nil, pe
	}
	p, pe := collect(m)
	if pe != nil {
		return nil, pe
	}
	if pe := needT(p); pe != nil {
		return nil, pe
	}
	return p, nil
}

// needT returns the message's T or the error for a missing one.
func needT(p *parts) *ProtocolError {
	if p.t == nil {
		return protoErr(ErrInvalidTS, "no T payload")
	}
	return nil
}

// newV returns the V payload to seal, after checking the MAC algorithm.
func newV(ma MACAlg) (*V, error) {
	if pe := checkMACAlg(ma, "V"); pe != nil {
		return nil, pe.Err
	}
	return &V{MACAlg: ma}, nil
}

// cloneT returns a copy of a T given to a builder, so that the built message does not alias it.
func cloneT(t *T) (*T, error) {
	if t == nil {
		return nil, errors.New("mikey: no timestamp (T) given")
	}
	c := *t
	return &c, nil
}
