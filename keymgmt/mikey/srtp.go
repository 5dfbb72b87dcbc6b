package mikey

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pion/srtp/v2"
)

// From MIKEY to SRTP (RFC 3830 §4.1.3, §4.2.1, §6.10.1; RFC 6043 §5.1.3, §6.1.1): the SRTP master
// key and master salt of each crypto session, its SRTP policy as a pion/srtp protection profile, and
// the stream parameters of the CS ID map. Our call security policy is stricter than RFC 3711:
// authentication is always on (SRTCP integrity is mandatory in RFC 3711 §3.4, and we refuse SRTP
// without it too), and only what pion/srtp v2 implements is accepted.

// SRTPPolicy is an SP payload of Prot type SRTP with the RFC 3711 defaults filled in for the
// parameters it omits (RFC 3830 §6.10.1: "if a Type/Value is not set, the default is used").
type SRTPPolicy struct {
	PolicyNo      uint8
	EncrAlg       uint8  // 0 NULL, 1 AES-CM, 2 AES-F8 [AES-CM]
	EncrKeyLen    int    // session encryption key length = master key length [16]
	AuthAlg       uint8  // 0 NULL, 1 HMAC-SHA-1 [HMAC-SHA-1]
	AuthKeyLen    int    // [20]
	SaltKeyLen    int    // session salt length = master salt length [14]
	PRF           uint8  // 0 AES-CM [AES-CM]
	KDR           uint32 // key derivation rate [0]
	SRTPEncr      bool   // [on]
	SRTCPEncr     bool   // [on]
	FECOrder      uint8  // 0 FEC-SRTP [FEC-SRTP]
	SRTPAuth      bool   // [on]
	AuthTagLen    int    // SRTP tag length in bytes [10]
	SRTPPrefixLen int    // [0]
}

// DefaultSRTPPolicy is the SRTP default of RFC 3711 §8.2 that omitted SP parameters take.
func DefaultSRTPPolicy(policyNo uint8) SRTPPolicy {
	return SRTPPolicy{PolicyNo: policyNo, EncrAlg: SRTPEncrAESCM, EncrKeyLen: 16, AuthAlg: SRTPAuthSHA1,
		AuthKeyLen: 20, SaltKeyLen: 14, PRF: SRTPPRFAESCM, SRTPEncr: true, SRTCPEncr: true,
		FECOrder: SRTPFECSRTP, SRTPAuth: true, AuthTagLen: 10}
}

func spParErr(sp uint8, format string, args ...any) *ProtocolError {
	return &ProtocolError{ErrNo: ErrInvalidSPpar, Err: fmt.Errorf("SP policy %d: %s", sp, fmt.Sprintf(format, args...))}
}

// ParseSRTPPolicy reads an SRTP SP payload: defaults for omitted parameters, then CheckSRTP.
// A non-SRTP Prot type is ErrInvalidSP; a repeated, unknown, malformed or unsupported parameter is
// *ProtocolError{ErrNo: ErrInvalidSPpar} naming the parameter.
func ParseSRTPPolicy(sp *SP) (SRTPPolicy, error) {
	if sp == nil {
		return SRTPPolicy{}, protoErr(ErrInvalidSP, "no SP payload")
	}
	if sp.ProtType != ProtSRTP {
		return SRTPPolicy{}, protoErr(ErrInvalidSP, "SP policy %d: Prot type %d is not SRTP", sp.PolicyNo, sp.ProtType)
	}
	p := DefaultSRTPPolicy(sp.PolicyNo)
	var seen uint16
	for i, par := range sp.Params {
		if par.Type > SPSRTPPrefixLen {
			return p, spParErr(sp.PolicyNo, "parameter %d: unknown type %d (RFC 3830 Table 6.10.1.a)", i+1, par.Type)
		}
		if seen&(1<<par.Type) != 0 {
			return p, spParErr(sp.PolicyNo, "parameter %d: type %d appears twice", i+1, par.Type)
		}
		seen |= 1 << par.Type
		if len(par.Value) == 0 || len(par.Value) > 4 {
			return p, spParErr(sp.PolicyNo, "parameter %d (type %d): %d-byte value, want an integer of 1-4 bytes", i+1, par.Type, len(par.Value))
		}
		var v uint32
		for _, c := range par.Value {
			v = v<<8 | uint32(c)
		}
		small := func() (uint8, error) {
			if v > 0xff {
				return 0, spParErr(sp.PolicyNo, "parameter type %d: value %d out of range", par.Type, v)
			}
			return uint8(v), nil
		}
		onOff := func() (bool, error) {
			if v > 1 {
				return false, spParErr(sp.PolicyNo, "parameter type %d: value %d is neither off (0) nor on (1)", par.Type, v)
			}
			return v == 1, nil
		}
		var err error
		switch par.Type {
		case SPEncrAlg:
			p.EncrAlg, err = small()
		case SPEncrKeyLen:
			p.EncrKeyLen = int(v)
		case SPAuthAlg:
			p.AuthAlg, err = small()
		case SPAuthKeyLen:
			p.AuthKeyLen = int(v)
		case SPSaltKeyLen:
			p.SaltKeyLen = int(v)
		case SPSRTPPRF:
			p.PRF, err = small()
		case SPKeyDerivRate:
			p.KDR = v
		case SPSRTPEncr:
			p.SRTPEncr, err = onOff()
		case SPSRTCPEncr:
			p.SRTCPEncr, err = onOff()
		case SPFECOrder:
			p.FECOrder, err = small()
		case SPSRTPAuth:
			p.SRTPAuth, err = onOff()
		case SPAuthTagLen:
			p.AuthTagLen = int(v)
		case SPSRTPPrefixLen:
			p.SRTPPrefixLen = int(v)
		}
		if err != nil {
			return p, err
		}
	}
	if _, err := p.Profile(); err != nil {
		return p, err
	}
	return p, nil
}

// Profile maps the policy to a pion/srtp v2 protection profile, refusing with ErrInvalidSPpar
// what pion cannot honour or our policy forbids:
//   - encryption AES-CM with a 16-byte key (AES_CM_128_*) or a 32-byte key (AES_256_CM_*, RFC 6188:
//     AES-CM with session encryption key length 32); NULL encryption maps to the AES-CM-128 profile
//     with SRTP and SRTCP encryption off (pion keeps deriving the keys and does not use them);
//     AES-F8 and AES-192 are not implemented by pion;
//   - HMAC-SHA-1 with a 20-byte key and an SRTP tag of 10 bytes (_80) or 4 bytes (_32); the SRTCP tag
//     is 80 bits in both (RFC 3711 §5.2, RFC 4568 §6.2);
//   - SRTP authentication on (SRTCP authentication is mandatory in RFC 3711 §3.4; SRTP without it is
//     our refusal), AES-CM PRF, key derivation rate 0 (pion derives session keys once), SRTP prefix
//     length 0 (RFC 3711 §4.3.3 keystream prefix, unused by pion), salt length 14, FEC order 0.
//
// AEAD_AES_128_GCM and AEAD_AES_256_GCM are never produced: RFC 3830 §6.10.1 and RFC 6043 have no
// GCM encryption algorithm value. RFC 7714 may register MIKEY values for AES-GCM; that text was not
// checked, so an unknown algorithm value stays a refusal.
func (p SRTPPolicy) Profile() (srtp.ProtectionProfile, error) {
	n := p.PolicyNo
	if p.AuthAlg != SRTPAuthSHA1 {
		return 0, spParErr(n, "authentication algorithm %d: only HMAC-SHA-1 (1); authentication is mandatory", p.AuthAlg)
	}
	if !p.SRTPAuth {
		return 0, spParErr(n, "SRTP authentication off is refused: SRTP and SRTCP are always authenticated")
	}
	if p.AuthKeyLen != 20 {
		return 0, spParErr(n, "session auth key length %d: HMAC-SHA-1 in SRTP uses 20 bytes", p.AuthKeyLen)
	}
	if p.SaltKeyLen != 14 {
		return 0, spParErr(n, "session salt key length %d: only 14 (112 bits, RFC 3711 §8.2)", p.SaltKeyLen)
	}
	if p.PRF != SRTPPRFAESCM {
		return 0, spParErr(n, "SRTP PRF %d: only AES-CM (0)", p.PRF)
	}
	if p.KDR != 0 {
		return 0, spParErr(n, "key derivation rate %d: only 0 (one derivation per master key) is supported", p.KDR)
	}
	if p.SRTPPrefixLen != 0 {
		return 0, spParErr(n, "SRTP prefix length %d: only 0", p.SRTPPrefixLen)
	}
	if p.FECOrder != SRTPFECSRTP {
		return 0, spParErr(n, "FEC order %d: only FEC-SRTP (0)", p.FECOrder)
	}
	var tag80 bool
	switch p.AuthTagLen {
	case 10:
		tag80 = true
	case 4:
	default:
		return 0, spParErr(n, "authentication tag length %d: only 10 (HMAC-SHA1-80) or 4 (HMAC-SHA1-32)", p.AuthTagLen)
	}
	switch p.EncrAlg {
	case SRTPEncrNULL:
		if p.SRTPEncr || p.SRTCPEncr {
			// RFC 3830 has both an algorithm and on/off switches; NULL with a switch on contradicts
			// itself. SP payloads naming NULL must say encryption off.
			return 0, spParErr(n, "encryption algorithm NULL with SRTP or SRTCP encryption on")
		}
		if p.EncrKeyLen != 16 {
			return 0, spParErr(n, "encryption algorithm NULL with master key length %d: only 16", p.EncrKeyLen)
		}
		return pick(tag80, srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32), nil
	case SRTPEncrAESCM:
		switch p.EncrKeyLen {
		case 16:
			return pick(tag80, srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32), nil
		case 32:
			return pick(tag80, srtp.ProtectionProfileAes256CmHmacSha1_80, srtp.ProtectionProfileAes256CmHmacSha1_32), nil
		}
		return 0, spParErr(n, "AES-CM session encryption key length %d: only 16 or 32", p.EncrKeyLen)
	case SRTPEncrAESF8:
		return 0, spParErr(n, "encryption algorithm AES-F8 is not supported")
	}
	return 0, spParErr(n, "encryption algorithm %d is unknown", p.EncrAlg)
}

func pick(c bool, a, b srtp.ProtectionProfile) srtp.ProtectionProfile {
	if c {
		return a
	}
	return b
}

// CheckSRTP checks an SP payload the way a receiver does before using it (early reject, RFC 6043
// §4.2.2.3): nil or a *ProtocolError with ErrInvalidSP or ErrInvalidSPpar.
func CheckSRTP(sp *SP) error {
	_, err := ParseSRTPPolicy(sp)
	return err
}

// SRTPPolicyFor builds the SP payload our offers send for a profile: every parameter explicit
// (omitted ones would be read with the peer's idea of the defaults), in type order, without the
// key derivation rate, PRF, FEC order and prefix, which stay at their defaults (RFC 3830 §6.10.1).
// AES_CM_128_HMAC_SHA1_80 gives
// 00 01 01 | 01 01 10 | 02 01 01 | 03 01 14 | 04 01 0e | 07 01 01 | 08 01 01 | 0a 01 01 | 0b 01 0a.
func SRTPPolicyFor(policyNo uint8, profile srtp.ProtectionProfile) (*SP, error) {
	var keyLen, tagLen uint8
	switch profile {
	case srtp.ProtectionProfileAes128CmHmacSha1_80:
		keyLen, tagLen = 16, 10
	case srtp.ProtectionProfileAes128CmHmacSha1_32:
		keyLen, tagLen = 16, 4
	case srtp.ProtectionProfileAes256CmHmacSha1_80:
		keyLen, tagLen = 32, 10
	case srtp.ProtectionProfileAes256CmHmacSha1_32:
		keyLen, tagLen = 32, 4
	default:
		return nil, fmt.Errorf("mikey: SRTP profile %#04x has no MIKEY SP encoding here", uint16(profile))
	}
	return &SP{PolicyNo: policyNo, ProtType: ProtSRTP, Params: []SPParam{
		SRTPParamUint8(SPEncrAlg, SRTPEncrAESCM),
		SRTPParamUint8(SPEncrKeyLen, keyLen),
		SRTPParamUint8(SPAuthAlg, SRTPAuthSHA1),
		SRTPParamUint8(SPAuthKeyLen, 20),
		SRTPParamUint8(SPSaltKeyLen, 14),
		SRTPParamUint8(SPSRTPEncr, 1),
		SRTPParamUint8(SPSRTCPEncr, 1),
		SRTPParamUint8(SPSRTPAuth, 1),
		SRTPParamUint8(SPAuthTagLen, tagLen),
	}}, nil
}

// SRTPCryptoSession is what the media layer needs for one crypto session of a CSB.
type SRTPCryptoSession struct {
	CSID       uint8
	PolicyNo   uint8
	Profile    srtp.ProtectionProfile
	MasterKey  []byte // TEK (RFC 3830 §4.1.3)
	MasterSalt []byte
	MKI        []byte // the SPI of the key data (GENERIC-ID SPI: the key to use first); may be empty
	// SSRC binds the crypto session to a stream; HasSSRC is false when the map left Session Data
	// empty (an initial message, RFC 6043 §6.1.1). In an SRTP-ID map SSRC 0 means "not yet known"
	// (RFC 3830 §6.1.1) and HasSSRC is false too.
	SSRC    uint32
	HasSSRC bool
	ROC     uint32 // initial rollover counter (SRTP-ID ROC, or GENERIC-ID with S = 1)
	SEQ     uint16 // initial sequence number (GENERIC-ID with S = 1), else 0
	HasSEQ  bool
	// EncryptSRTP and EncryptSRTCP follow SP types 7 and 8; authentication is always on.
	EncryptSRTP, EncryptSRTCP bool
}

// String redacts the master key and salt.
func (s SRTPCryptoSession) String() string {
	return fmt.Sprintf("SRTPCryptoSession{CSID:%d Policy:%d Profile:%#04x MKI:%x SSRC:%#08x ROC:%d SEQ:%d EncryptSRTP:%v EncryptSRTCP:%v keys:redacted}",
		s.CSID, s.PolicyNo, uint16(s.Profile), s.MKI, s.SSRC, s.ROC, s.SEQ, s.EncryptSRTP, s.EncryptSRTCP)
}

// GoString redacts as String does.
func (s SRTPCryptoSession) GoString() string { return s.String() }

// LogValue redacts the master key and salt.
func (s SRTPCryptoSession) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("cs_id", int(s.CSID)), slog.Int("profile", int(s.Profile)),
		slog.String("mki", fmt.Sprintf("%x", s.MKI)), slog.Uint64("ssrc", uint64(s.SSRC)),
		slog.Uint64("roc", uint64(s.ROC)), slog.String("keys", "redacted"))
}

// SRTPKeying is what an exchange knows about a CSB once its keys are in hand.
type SRTPKeying struct {
	// HDR gives the PRF (TGK → TEK uses the HDR's PRF, RFC 6043 §5.1.3), the CSB ID and the CS ID
	// map: GENERIC-ID (RFC 6043 §6.1.1) or SRTP-ID (RFC 3830 §6.1.1). Use the final map: the
	// Responder's (TRANSFER_RESP) when there is one, with one policy per crypto session.
	HDR HDR
	// SPs are the SP payloads the map's policy numbers refer to.
	SPs []*SP
	// Keys are the session keys of the KEMAC (TGK, TEK or GTGK, with or without salt). With key
	// forking (flag I) they must be the forked TGK' (TicketKeys.Fork): RFC 6043 §5.1.3 derives from
	// TGK' whenever forking is used.
	Keys []KeyData
	// Ticket selects the RFC 6043 §5.1.3 label (MIKEY-TICKET); otherwise the RFC 3830 §4.1.3 label
	// with RAND is used.
	Ticket bool
	// RAND is the RFC 3830 RAND payload (RFC 3830 exchanges only).
	RAND []byte
	// Flags are the Ticket Policy flags: H puts RANDRi into the label, G puts RANDRr into it.
	Flags          TicketFlags
	RANDRi, RANDRr []byte
}

// SRTPSessions derives the SRTP parameters of every crypto session of the CSB. Policy errors are
// *ProtocolError with ErrInvalidSP or ErrInvalidSPpar; key selection or derivation failures are
// *ProtocolError with ErrUnspecified.
func SRTPSessions(in SRTPKeying) ([]SRTPCryptoSession, error) {
	type cs struct {
		id       uint8
		policyNo uint8
		spi      []byte
		ssrc     uint32
		hasSSRC  bool
		roc      uint32
		seq      uint16
		hasSEQ   bool
	}
	var sessions []cs
	h := in.HDR
	switch h.CSIDMapType {
	case CSIDMapGenericID:
		for _, e := range h.GenericIDs {
			if e.ProtType != ProtSRTP {
				return nil, protoErr(ErrInvalidSP, "CS %d: Prot type %d is not SRTP", e.CSID, e.ProtType)
			}
			if len(e.PolicyNos) != 1 {
				return nil, protoErr(ErrInvalidSP, "CS %d: %d policies, a negotiated crypto session has exactly one (RFC 6043 §6.1.1)", e.CSID, len(e.PolicyNos))
			}
			ssrc, roc, seq, ok, err := e.SRTPSession()
			if err != nil {
				return nil, protoErr(ErrUnspecified, "%v", err)
			}
			sessions = append(sessions, cs{id: e.CSID, policyNo: e.PolicyNos[0], spi: e.SPI, ssrc: ssrc, hasSSRC: ok,
				roc: roc, seq: seq, hasSEQ: ok && e.S})
		}
	case CSIDMapSRTPID:
		for i, e := range h.SRTPIDs {
			sessions = append(sessions, cs{id: uint8(i + 1), policyNo: e.PolicyNo, ssrc: e.SSRC, hasSSRC: e.SSRC != 0, roc: e.ROC})
		}
	default:
		return nil, protoErr(ErrUnspecified, "CS ID map type %d carries no SRTP crypto sessions", h.CSIDMapType)
	}
	if len(sessions) == 0 {
		return nil, protoErr(ErrUnspecified, "the CS ID map has no crypto sessions")
	}
	out := make([]SRTPCryptoSession, 0, len(sessions))
	for _, s := range sessions {
		sp := findSP(in.SPs, s.policyNo)
		if sp == nil {
			return nil, protoErr(ErrInvalidSP, "CS %d: no SP payload with policy number %d", s.id, s.policyNo)
		}
		pol, err := ParseSRTPPolicy(sp)
		if err != nil {
			return nil, err
		}
		prof, _ := pol.Profile() // checked by ParseSRTPPolicy
		k, err := selectKey(in.Keys, s.spi)
		if err != nil {
			return nil, protoErr(ErrUnspecified, "CS %d: %v", s.id, err)
		}
		key, salt, err := masterKeySalt(in, s.id, k, pol)
		if err != nil {
			return nil, protoErr(ErrUnspecified, "CS %d: %v", s.id, err)
		}
		mki := k.SPI
		if len(s.spi) > 0 {
			mki = s.spi
		}
		out = append(out, SRTPCryptoSession{CSID: s.id, PolicyNo: s.policyNo, Profile: prof,
			MasterKey: key, MasterSalt: salt, MKI: bytes.Clone(mki),
			SSRC: s.ssrc, HasSSRC: s.hasSSRC, ROC: s.roc, SEQ: s.seq, HasSEQ: s.hasSEQ,
			EncryptSRTP: pol.SRTPEncr && pol.EncrAlg != SRTPEncrNULL, EncryptSRTCP: pol.SRTCPEncr && pol.EncrAlg != SRTPEncrNULL})
	}
	return out, nil
}

func findSP(sps []*SP, no uint8) *SP {
	for _, sp := range sps {
		if sp != nil && sp.PolicyNo == no {
			return sp
		}
	}
	return nil
}

// selectKey picks the session key of a crypto session: the key whose SPI equals the map's SPI
// (GENERIC-ID, RFC 6043 §6.1.1: the SPI is the MKI of the key to use first), or, without an SPI in
// the map, the only key (an SRTP-ID map names no key; several keys would be ambiguous).
func selectKey(keys []KeyData, spi []byte) (*KeyData, error) {
	var session []*KeyData
	for i := range keys {
		switch keys[i].Type {
		case KeyTGK, KeyTGKSalt, KeyTEK, KeyTEKSalt, KeyGTGK, KeyGTGKSalt:
			session = append(session, &keys[i])
		}
	}
	if len(spi) > 0 {
		for _, k := range session {
			if k.KV == KVSPI && bytes.Equal(k.SPI, spi) {
				return k, nil
			}
		}
		return nil, fmt.Errorf("no session key with SPI %x", spi)
	}
	switch len(session) {
	case 0:
		return nil, errors.New("no TGK, TEK or GTGK in the key data")
	case 1:
		return session[0], nil
	}
	return nil, fmt.Errorf("%d session keys and no SPI to choose one", len(session))
}

// masterKeySalt gives the SRTP master key and salt of one crypto session (RFC 3830 §4.1.3 with the
// RFC 6043 §5.1.3 label for MIKEY-TICKET): a TGK or GTGK yields TEK = PRF(TGK, 0x2AD01C64 ||
// label) of the policy's master key length and, unless the key data carries a salt, the salt
// PRF(TGK, 0x39A2C14B || label); a TEK is the master key itself and must carry its salt.
func masterKeySalt(in SRTPKeying, csID uint8, k *KeyData, pol SRTPPolicy) (key, salt []byte, err error) {
	if len(k.Salt) > 0 && len(k.Salt) != pol.SaltKeyLen {
		return nil, nil, fmt.Errorf("key data salt is %d bytes, the policy needs %d", len(k.Salt), pol.SaltKeyLen)
	}
	switch k.Type {
	case KeyTEK, KeyTEKSalt:
		if len(k.Key) != pol.EncrKeyLen {
			return nil, nil, fmt.Errorf("TEK is %d bytes, the policy's master key length is %d", len(k.Key), pol.EncrKeyLen)
		}
		if len(k.Salt) == 0 {
			return nil, nil, errors.New("TEK without salt: SRTP needs a master salt and none can be derived from a TEK")
		}
		return bytes.Clone(k.Key), bytes.Clone(k.Salt), nil
	}
	var label KeyLabel
	if in.Ticket {
		label, err = TicketTGKLabel(csID, in.RANDRi, in.Flags.Has(FlagH), in.RANDRr, in.Flags.Has(FlagG))
	} else {
		if len(in.RAND) == 0 {
			return nil, nil, errors.New("RFC 3830 TEK derivation needs the RAND")
		}
		label = RFC3830TGKLabel(csID, in.HDR.CSBID, in.RAND)
	}
	if err != nil {
		return nil, nil, err
	}
	if key, err = DeriveTEK(in.HDR.PRF, k.Key, label, pol.EncrKeyLen); err != nil {
		return nil, nil, err
	}
	if len(k.Salt) > 0 {
		return key, bytes.Clone(k.Salt), nil
	}
	if salt, err = DeriveTGKSalt(in.HDR.PRF, k.Key, label, pol.SaltKeyLen); err != nil {
		return nil, nil, err
	}
	return key, salt, nil
}
