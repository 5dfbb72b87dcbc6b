package keymgmt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v2"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
	"github.com/imsphone/imsphone/keymgmt/sdes"
)

// The MIKEY-TICKET method (RFC 6043 mode 1, TS 33.328 KMS-based e2e): the offer carries a
// TRANSFER_INIT and the answer a TRANSFER_RESP, each as a=key-mgmt:mikey <base64> (RFC 4567 §3).
//
// Placement: media level, on the audio m-line. RFC 4567 §3.1 allows session or media level; the
// crypto sessions of our GENERIC-ID map key exactly the audio stream's two SSRCs, and a
// session-level attribute would claim every m-line of the SDP. Received lines are read at either
// level with the media level overriding (KeyMgmtValues).
//
// Direction and key model: the ticket holds one TGK; the TRANSFER_INIT's GENERIC-ID map has two
// SRTP crypto sessions, one per sender (RFC 3830 §4.1.3 / RFC 6043 §5.1.3: each crypto session
// gets its own TEK and salt from the TGK, the CS ID being part of the label):
//   - CS 1 (csCaller) is the Initiator's RTP stream, Session Data = the Initiator's SSRC;
//   - CS 2 (csCallee) is the Responder's stream, Session Data left empty in TRANSFER_INIT
//     (allowed in an initial message, RFC 6043 §6.1.1) and filled in with the Responder's SSRC in
//     TRANSFER_RESP (§4.2.2.3).
//
// Both reference SP policy 1 and the TGK's SPI, which becomes the MKI (RFC 6043 §6.1.1: the SPI
// names the key to use first). Session Data carries the SSRC alone (S = 0): the initial ROC is 0
// (a new SRTP context, RFC 3711 §3.3.1) and the first SEQ is the media layer's, which Stream does
// not carry.
const (
	csCaller uint8 = 1
	csCallee uint8 = 2
	spPolicy uint8 = 1
)

// maxKeyMgmtData bounds the base64 keymgmt-data accepted from an SDP before decoding: a
// TRANSFER_INIT with a MIKEY base ticket is a few hundred bytes.
const maxKeyMgmtData = 16 << 10

// TicketClient is the UE's KMS client as the MIKEY method uses it; *kms.Client implements it.
type TicketClient interface {
	RequestTicket(ctx context.Context, r kms.TicketRequest) (*kms.Ticket, error)
	ResolveTicket(ctx context.Context, responder *mikey.IDR, ticket *mikey.TICKET) (*kms.Resolution, error)
}

// MIKEYConfig configures the MIKEY-TICKET method.
type MIKEYConfig struct {
	// KMS is the UE's KMS client (kms.NewClient, keyed from GBA by the caller). Required.
	KMS TicketClient
	// IMPU is our public user identity, the IDRi of our offers and the IDRr we resolve tickets
	// as (TS 33.328 binds tickets to IMPUs); empty takes Stream.Local. Set it when Stream.Local
	// is a contact address rather than the IMPU.
	IMPU string
	// Profiles are the SRTP profiles we offer (the first) and accept, in preference order
	// [AES_CM_128_HMAC_SHA1_80]. SRTP and SRTCP encryption are required.
	Profiles []srtp.ProtectionProfile
	// Flags are the desired Ticket Policy flags [D E F G H]; F (TRANSFER_RESP) is always added,
	// since the Responder's SSRC travels in it. I asks for key forking (RFC 6043 §5.1.1).
	Flags mikey.TicketFlags
	// Validity is the desired ticket validity [the KMS's choice].
	Validity time.Duration
	// PRF is the HDR PRF of TRANSFER_INIT [PRF-HMAC-SHA-256].
	PRF mikey.PRFFunc
	// MACAlg is the V MAC of our messages [HMAC-SHA-256-256].
	MACAlg mikey.MACAlg
	// Window is the timestamp window for TRANSFER_INIT and TRANSFER_RESP (RFC 3830 §5.4).
	Window mikey.Window
	// Replay remembers verified TRANSFER_INIT and TRANSFER_RESP messages [a MemoryReplayCache of
	// ReplayCapacity entries].
	Replay         mikey.ReplayCache
	ReplayCapacity int // [4096]
	Now            func() time.Time
	// Rand draws CSB IDs, RANDRi, RANDRr and SSRCs not fixed by Stream; it must be safe for
	// concurrent use [crypto/rand].
	Rand io.Reader
}

// MIKEY is the MIKEY-TICKET key-management method (Name "mikey"). It is safe for concurrent use
// by several calls.
type MIKEY struct {
	cfg MIKEYConfig
}

// NewMIKEY checks cfg and fills in the defaults.
func NewMIKEY(cfg MIKEYConfig) (*MIKEY, error) {
	if cfg.KMS == nil {
		return nil, errors.New("keymgmt: MIKEY method needs a KMS client")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80}
	}
	for _, p := range cfg.Profiles {
		if _, err := mikey.SRTPPolicyFor(spPolicy, p); err != nil {
			return nil, fmt.Errorf("keymgmt: MIKEY profile %d: %w", p, err)
		}
		if _, ok := sdes.SuiteForProfile(p); !ok {
			return nil, fmt.Errorf("keymgmt: MIKEY profile %d has no suite name", p)
		}
	}
	if cfg.Flags == 0 {
		cfg.Flags = mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagG | mikey.FlagH
	}
	cfg.Flags |= mikey.FlagF
	if err := cfg.Flags.Validate(); err != nil {
		return nil, fmt.Errorf("keymgmt: MIKEY ticket flags: %w", err)
	}
	if cfg.PRF == 0 {
		cfg.PRF = mikey.PRFHMACSHA256
	}
	if cfg.MACAlg == 0 {
		cfg.MACAlg = mikey.MACHMACSHA256256
	}
	if cfg.Replay == nil {
		n := cfg.ReplayCapacity
		if n <= 0 {
			n = 4096
		}
		c, err := mikey.NewMemoryReplayCache(n, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("keymgmt: MIKEY replay cache: %w", err)
		}
		cfg.Replay = c
	}
	return &MIKEY{cfg: cfg}, nil
}

// Name implements Method.
func (*MIKEY) Name() string { return "mikey" }

// Present implements Method.
func (*MIKEY) Present(offer Lines) bool { return len(KeyMgmtValues(offer, "mikey")) > 0 }

// me is our IMPU for IDRi and IDRr.
func (m *MIKEY) me(s Stream) string {
	if m.cfg.IMPU != "" {
		return m.cfg.IMPU
	}
	return s.Local
}

// sameIdentity compares two SIP or tel URIs as identities: angle brackets, URI parameters and
// headers are dropped, scheme and host compare case-insensitively, the user part exactly (RFC 3261
// §19.1.4).
func sameIdentity(a, b string) bool {
	norm := func(u string) (scheme, user, host string) {
		u = strings.TrimSpace(u)
		if i := strings.IndexByte(u, '<'); i >= 0 {
			u = u[i+1:]
			if j := strings.IndexByte(u, '>'); j >= 0 {
				u = u[:j]
			}
		}
		scheme, rest, _ := strings.Cut(u, ":")
		user, host, ok := strings.Cut(rest, "@")
		if !ok {
			user, host = "", rest
		}
		host, _, _ = strings.Cut(host, ";")
		host, _, _ = strings.Cut(host, "?")
		if !ok {
			user, host = host, ""
		}
		return strings.ToLower(scheme), user, strings.ToLower(host)
	}
	as, au, ah := norm(a)
	bs, bu, bh := norm(b)
	return as == bs && au == bu && ah == bh && as != ""
}

func idr(role mikey.IDRole, uri string) *mikey.IDR {
	return &mikey.IDR{Role: role, Type: mikey.IDTypeURI, Data: []byte(uri)}
}

// ssrcFor is the stream's SSRC, or a random non-zero one when the UA has not fixed it yet (the UA
// then sends with Keys.Send.SSRC).
func (m *MIKEY) ssrcFor(s Stream) (uint32, error) {
	if s.SSRC != 0 {
		return s.SSRC, nil
	}
	var b [4]byte
	for {
		if _, err := io.ReadFull(m.cfg.Rand, b[:]); err != nil {
			return 0, fmt.Errorf("draw SSRC: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v != 0 {
			return v, nil
		}
	}
}

func keyMgmtLine(msg []byte) Lines {
	return Lines{Media: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey "+base64.StdEncoding.EncodeToString(msg))}}
}

// mikeyPending is the caller's state between offer and answer (digest §10, per dialog): the
// TRANSFER_INIT as sent, the ticket keys and our SSRC.
type mikeyPending struct {
	m      *MIKEY
	ticket *kms.Ticket
	init   *mikey.Message
	ti     *mikey.TransferInit
	ssrc   uint32
	lines  Lines
}

// Offer implements Method: a ticket for the callee from the KMS (RFC 6043 §4.2.1), then the
// TRANSFER_INIT (§4.2.2.1). s.Local is our IMPU (IDRi), s.Remote the callee's (IDRr).
func (m *MIKEY) Offer(ctx context.Context, s Stream) (PendingOffer, error) {
	me := m.me(s)
	if me == "" || s.Remote == "" {
		return nil, errors.New("our IMPU (IDRi) and Stream.Remote (IDRr) are required")
	}
	tk, err := m.cfg.KMS.RequestTicket(ctx, kms.TicketRequest{Initiator: idr(mikey.IDRoleI, me),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, s.Remote)}, Flags: m.cfg.Flags, Validity: m.cfg.Validity})
	if err != nil {
		return nil, fmt.Errorf("ticket request for %s at the KMS: %w", s.Remote, err)
	}
	// RFC 6043 §4.2.1.6: whether the granted policy is acceptable is ours to decide.
	pol := tk.Resp.Ticket.Policy
	if !pol.Flags.Has(mikey.FlagF) {
		return nil, fmt.Errorf("the KMS granted flags %v without F; a TRANSFER_RESP is needed for the callee's SSRC", pol.Flags)
	}
	if m.cfg.Flags.Has(mikey.FlagI) && !pol.Flags.Has(mikey.FlagI) {
		return nil, fmt.Errorf("key forking (I) asked for but not granted (flags %v)", pol.Flags)
	}
	spi, err := firstTGKSPI(tk.Resp.Keys.Keys)
	if err != nil {
		return nil, fmt.Errorf("ticket keys: %w", err)
	}
	ssrc, err := m.ssrcFor(s)
	if err != nil {
		return nil, err
	}
	sp, err := mikey.SRTPPolicyFor(spPolicy, m.cfg.Profiles[0])
	if err != nil {
		return nil, err
	}
	t, err := mikey.NewTNTPUTC(m.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("T: %w", err)
	}
	msg, _, err := mikey.BuildTransferInit(mikey.TransferInitParams{PRF: m.cfg.PRF, T: t,
		IDRi: idr(mikey.IDRoleI, me), IDRr: idr(mikey.IDRoleR, s.Remote),
		CryptoSessions: []mikey.GenericIDEntry{
			{CSID: csCaller, ProtType: mikey.ProtSRTP, PolicyNos: []uint8{spPolicy}, SessionData: mikey.SRTPSessionData(ssrc, false, 0, 0), SPI: spi},
			{CSID: csCallee, ProtType: mikey.ProtSRTP, PolicyNos: []uint8{spPolicy}, SPI: spi},
		},
		SPs: []*mikey.SP{sp}, Ticket: tk.Resp.Ticket, Keys: tk.Resp.Keys, MACAlg: m.cfg.MACAlg, Rand: m.cfg.Rand})
	if err != nil {
		return nil, fmt.Errorf("build TRANSFER_INIT: %w", err)
	}
	ti, err := mikey.CheckTransferInit(msg)
	if err != nil {
		return nil, fmt.Errorf("own TRANSFER_INIT: %w", err)
	}
	return &mikeyPending{m: m, ticket: tk, init: msg, ti: ti, ssrc: ssrc, lines: keyMgmtLine(msg.Raw)}, nil
}

// firstTGKSPI is the SPI of the ticket's first TGK: the key both crypto sessions use first, and
// their MKI.
func firstTGKSPI(ks []mikey.KeyData) ([]byte, error) {
	for _, k := range ks {
		if k.Type != mikey.KeyTGK && k.Type != mikey.KeyTGKSalt {
			continue
		}
		if len(k.SPI) == 0 {
			// The response must carry an SPI per crypto session (RFC 6043 §6.1.1).
			return nil, errors.New("the ticket's TGK has no SPI")
		}
		return slices.Clone(k.SPI), nil
	}
	return nil, fmt.Errorf("no TGK among %d session keys", len(ks))
}

func (p *mikeyPending) Lines() Lines { return p.lines }

// Accept implements PendingOffer: verify the TRANSFER_RESP against our TRANSFER_INIT with MPKi, or
// MPKr' forked from the echoed IDRr and RANDRkms (RFC 6043 §4.2.2.4, §5.1.1), and derive both
// directions' SRTP parameters.
func (p *mikeyPending) Accept(ctx context.Context, answer Lines, _ Stream) (*Keys, error) {
	m := p.m
	msg, err := decodeKeyMgmt(answer)
	if err != nil {
		return nil, err
	}
	fresh := m.cfg.Window.Freshness(ctx, m.cfg.Replay, m.cfg.Now)
	tr, err := mikey.VerifyTransferResp(msg, p.init, p.ticket.Resp.Keys, fresh)
	if err != nil {
		return nil, refuse(WarnMiscellaneous, err, "TRANSFER_RESP refused")
	}
	sps := append(slices.Clone(p.ti.SPs), tr.SPs...)
	ss, err := mikey.SRTPSessions(mikey.SRTPKeying{HDR: msg.HDR, SPs: sps, Keys: tr.Keys.Keys, Ticket: true,
		Flags: p.ticket.Resp.Ticket.Policy.Flags, RANDRi: p.ti.RANDRi, RANDRr: tr.RANDRr})
	if err != nil {
		return nil, refuse(WarnMiscellaneous, err, "TRANSFER_RESP crypto sessions")
	}
	k, err := m.keysFrom(ss, csCaller, csCallee, p.ssrc)
	if err != nil {
		return nil, err
	}
	k.local, k.peer = p.lines, Lines{Media: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey "+base64.StdEncoding.EncodeToString(msg.Raw))}}
	return k, nil
}

// decodeKeyMgmt reads the one a=key-mgmt:mikey value that applies to the stream (RFC 4567 §3.1).
func decodeKeyMgmt(l Lines) (*mikey.Message, error) {
	vals := KeyMgmtValues(l, "mikey")
	if len(vals) != 1 {
		return nil, refuse(WarnMiscellaneous, nil, "%d a=key-mgmt:mikey lines for the stream, want 1 (RFC 4567 §3.1)", len(vals))
	}
	v := vals[0]
	if len(v) > maxKeyMgmtData {
		return nil, refuse(WarnAttributeNotUnderstood, nil, "a=key-mgmt:mikey data of %d bytes exceeds %d", len(v), maxKeyMgmtData)
	}
	if i := strings.IndexAny(v, "\r\n"); i >= 0 {
		// encoding/base64 skips line breaks (MIME); data in a protocol field must not hold any
		// character outside the alphabet (RFC 4648 §3.3).
		return nil, refuse(WarnAttributeNotUnderstood, nil, "a=key-mgmt:mikey data has a line break at byte %d (RFC 4567 §3.1, RFC 4648 §3.3)", i)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil {
		return nil, refuse(WarnAttributeNotUnderstood, err, "a=key-mgmt:mikey data is not base64 (RFC 4567 §3.1)")
	}
	msg, err := mikey.ParseMessage(raw)
	if err != nil {
		return nil, refuse(WarnAttributeNotUnderstood, err, "a=key-mgmt:mikey message does not parse")
	}
	return msg, nil
}

// Answer implements Method: the Responder's processing of TRANSFER_INIT (RFC 6043 §4.2.2.2,
// §4.2.3.6, §4.2.2.3). s.Local is our IMPU (IDRr of RESOLVE_INIT), s.Remote the caller's IMPU,
// which IDRi must name when both are known.
func (m *MIKEY) Answer(ctx context.Context, offer Lines, s Stream) (Lines, *Keys, error) {
	me := m.me(s)
	if me == "" {
		return Lines{}, nil, refuse(WarnMiscellaneous, nil, "our identity (IDRr) is unknown")
	}
	msg, err := decodeKeyMgmt(offer)
	if err != nil {
		return Lines{}, nil, err
	}
	// 1. Early checks before the KMS is asked (§4.2.2.2): nothing is authenticated yet.
	ti, err := mikey.CheckTransferInit(msg)
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "TRANSFER_INIT refused")
	}
	if err := m.checkOffer(ti, s); err != nil {
		return Lines{}, nil, err
	}
	// 2. Resolve the ticket; the KMS decides whether we may (IDRr list, groups, validity, policy).
	res, err := m.cfg.KMS.ResolveTicket(ctx, idr(mikey.IDRoleR, me), ti.Ticket)
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "ticket resolve refused")
	}
	// 3., 4. V with MPKi (and Vi with I = 1); then timestamp window and replay (RFC 3830 §5.4).
	fresh := m.cfg.Window.Freshness(ctx, m.cfg.Replay, m.cfg.Now)
	vti, err := mikey.VerifyTransferInit(msg, res.Resp.Keys.MPKi, fresh)
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "TRANSFER_INIT refused")
	}
	flags := vti.Ticket.Policy.Flags
	// 5. TRANSFER_RESP (F = 1, checked above), echoing the KMS's IDRr and RANDRkms.
	mpk, idrr := res.Resp.Keys.MPKi, res.Resp.IDRr
	if flags.Has(mikey.FlagI) {
		mpk = res.Resp.Keys.MPKr
	}
	if idrr == nil {
		idrr = idr(mikey.IDRoleR, me)
	}
	var randRr []byte
	if flags.Has(mikey.FlagG) {
		randRr = make([]byte, mikey.DefaultRANDLen)
		if _, err := io.ReadFull(m.cfg.Rand, randRr); err != nil {
			return Lines{}, nil, refuse(WarnMiscellaneous, err, "draw RANDRr")
		}
	}
	ssrc, err := m.ssrcFor(s)
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "SSRC")
	}
	cs := make([]mikey.GenericIDEntry, len(vti.HDR.GenericIDs))
	for i, e := range vti.HDR.GenericIDs {
		// Reduced to one policy each (§4.2.2.3); checkOffer made sure one is acceptable.
		e.PolicyNos = []uint8{m.policyFor(vti.SPs, e.PolicyNos)}
		if e.CSID == csCallee {
			e.S, e.SessionData = false, mikey.SRTPSessionData(ssrc, false, 0, 0)
		}
		cs[i] = e
	}
	t, err := mikey.NewTNTPUTC(m.cfg.Now())
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "timestamp")
	}
	resp, _, err := mikey.BuildTransferResp(mikey.TransferRespParams{Init: vti, T: t, RANDRr: randRr, IDRr: idrr,
		RANDRkms: res.Resp.RANDRkms, CryptoSessions: cs, MPK: mpk, MACAlg: m.cfg.MACAlg, Rand: m.cfg.Rand})
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "build TRANSFER_RESP")
	}
	ss, err := mikey.SRTPSessions(mikey.SRTPKeying{HDR: resp.HDR, SPs: vti.SPs, Keys: res.Resp.Keys.Keys, Ticket: true,
		Flags: flags, RANDRi: vti.RANDRi, RANDRr: randRr})
	if err != nil {
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "TRANSFER_INIT crypto sessions")
	}
	k, err := m.keysFrom(ss, csCallee, csCaller, ssrc)
	if err != nil {
		return Lines{}, nil, err
	}
	k.local = keyMgmtLine(resp.Raw)
	k.peer = Lines{Media: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey "+base64.StdEncoding.EncodeToString(msg.Raw))}}
	return k.local, k, nil
}

// checkOffer is our part of the early check (RFC 6043 §4.2.2.2): ticket type, F, validity, the
// caller's identity, and the crypto sessions and their SRTP policies.
func (m *MIKEY) checkOffer(ti *mikey.TransferInit, s Stream) error {
	pol := ti.Ticket.Policy
	if pol.TicketType != mikey.TicketMIKEYBase {
		return refuse(WarnMiscellaneous, nil, "ticket type %d not supported (want %d, MIKEY base ticket)", pol.TicketType, mikey.TicketMIKEYBase)
	}
	if !pol.Flags.Has(mikey.FlagF) {
		return refuse(WarnMiscellaneous, nil, "ticket without F: a TRANSFER_RESP must carry our SSRC")
	}
	if tre := pol.TR(mikey.TSRoleE); tre != nil {
		if end, err := tre.Time(); err == nil && m.cfg.Now().After(end) {
			return refuse(WarnMiscellaneous, nil, "ticket expired at %s", end.UTC().Format(time.RFC3339))
		}
	}
	if ti.IDRi == nil || len(ti.IDRi.Data) == 0 {
		return refuse(WarnMiscellaneous, nil, "TRANSFER_INIT without IDRi")
	}
	if s.Remote != "" && !sameIdentity(string(ti.IDRi.Data), s.Remote) {
		return refuse(WarnMiscellaneous, nil, "IDRi %q is not the caller %q", ti.IDRi.Data, s.Remote)
	}
	cs := ti.HDR.GenericIDs
	if len(cs) != 2 {
		return refuse(WarnMiscellaneous, nil, "%d crypto sessions, want 2 (CS %d: caller's stream, CS %d: ours)", len(cs), csCaller, csCallee)
	}
	for _, e := range cs {
		if e.ProtType != mikey.ProtSRTP {
			return refuse(WarnMiscellaneous, nil, "CS %d: Prot type %d is not SRTP", e.CSID, e.ProtType)
		}
		_, _, _, hasSSRC, err := e.SRTPSession()
		if err != nil {
			return refuse(WarnMiscellaneous, err, "CS %d session data", e.CSID)
		}
		switch {
		case e.CSID == csCaller && !hasSSRC:
			return refuse(WarnMiscellaneous, nil, "CS %d (caller's stream) has no SSRC", e.CSID)
		case e.CSID == csCallee && hasSSRC:
			return refuse(WarnMiscellaneous, nil, "CS %d (our stream) already has an SSRC", e.CSID)
		case e.CSID != csCaller && e.CSID != csCallee:
			return refuse(WarnMiscellaneous, nil, "unexpected CS ID %d", e.CSID)
		}
		if m.policyFor(ti.SPs, e.PolicyNos) == 0 {
			return refuse(WarnMiscellaneous, nil, "CS %d: none of policies %v is an acceptable SRTP policy", e.CSID, e.PolicyNos)
		}
	}
	if cs[0].CSID == cs[1].CSID {
		return refuse(WarnMiscellaneous, nil, "CS ID %d appears twice", cs[0].CSID)
	}
	return nil
}

// policyFor returns the first of nos whose SP is an acceptable SRTP policy, or 0 (policy numbers
// of acceptable SPs are never 0 in our checks: 0 means none).
func (m *MIKEY) policyFor(sps []*mikey.SP, nos []uint8) uint8 {
	for _, no := range nos {
		for _, sp := range sps {
			if sp.PolicyNo == no && m.acceptable(sp) == nil {
				return no
			}
		}
	}
	return 0
}

// acceptable checks an SP against our profiles: encryption of SRTP and SRTCP on.
func (m *MIKEY) acceptable(sp *mikey.SP) error {
	p, err := mikey.ParseSRTPPolicy(sp)
	if err != nil {
		return err
	}
	prof, err := p.Profile()
	if err != nil {
		return err
	}
	if !p.SRTPEncr || !p.SRTCPEncr || p.EncrAlg == mikey.SRTPEncrNULL {
		return fmt.Errorf("SP policy %d: SRTP/SRTCP encryption off", sp.PolicyNo)
	}
	if !slices.Contains(m.cfg.Profiles, prof) {
		return fmt.Errorf("SP policy %d: profile %d not accepted", sp.PolicyNo, prof)
	}
	return nil
}

// keysFrom maps the crypto sessions to directions: send is our stream's CS, recv the peer's.
func (m *MIKEY) keysFrom(ss []mikey.SRTPCryptoSession, send, recv uint8, ourSSRC uint32) (*Keys, error) {
	var tx, rx *mikey.SRTPCryptoSession
	for i := range ss {
		switch ss[i].CSID {
		case send:
			tx = &ss[i]
		case recv:
			rx = &ss[i]
		}
	}
	if tx == nil || rx == nil || len(ss) != 2 {
		return nil, refuse(WarnMiscellaneous, nil, "crypto sessions %d and %d (one per direction) wanted, got %d sessions", send, recv, len(ss))
	}
	if !tx.HasSSRC || tx.SSRC != ourSSRC {
		return nil, refuse(WarnMiscellaneous, nil, "CS %d does not carry our SSRC %#x", send, ourSSRC)
	}
	if !rx.HasSSRC {
		return nil, refuse(WarnMiscellaneous, nil, "CS %d (peer's stream) has no SSRC", recv)
	}
	if tx.Profile != rx.Profile {
		return nil, refuse(WarnMiscellaneous, nil, "crypto sessions use different profiles (%d, %d)", tx.Profile, rx.Profile)
	}
	if !slices.Contains(m.cfg.Profiles, tx.Profile) || !tx.EncryptSRTP || !tx.EncryptSRTCP || !rx.EncryptSRTP || !rx.EncryptSRTCP {
		return nil, refuse(WarnMiscellaneous, nil, "negotiated SRTP policy not acceptable (profile %d)", tx.Profile)
	}
	suite, _ := sdes.SuiteForProfile(tx.Profile)
	conv := func(c *mikey.SRTPCryptoSession) SRTP {
		return SRTP{Profile: c.Profile, MasterKey: bytes.Clone(c.MasterKey), MasterSalt: bytes.Clone(c.MasterSalt),
			MKI: bytes.Clone(c.MKI), ROC: c.ROC, SSRC: c.SSRC, EncryptSRTP: c.EncryptSRTP, EncryptSRTCP: c.EncryptSRTCP}
	}
	return &Keys{Method: "mikey", Suite: suite.Name, Send: conv(tx), Recv: conv(rx)}, nil
}
