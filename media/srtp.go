package media

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/pion/transport/v2/replaydetector"
)

// Replay windows (RFC 3711 §3.3.2: at least 64; larger tolerates more reordering).
const (
	srtpReplayWindow  = 512
	srtcpReplayWindow = 128
	// maxSSRCStates bounds the per-SSRC state pion keeps in a receive Context. pion creates that
	// state before authenticating, so forged packets with random SSRCs would otherwise grow it
	// without limit; past the bound the Context is rebuilt from the installed keys.
	maxSSRCStates = 8
)

var (
	// ErrAuth marks a packet that failed SRTP/SRTCP authentication, lacked its tag, carried an
	// unknown MKI, or came in clear on a protected stream (RFC 3711 §3.3 step 5, §3.4).
	ErrAuth = errors.New("authentication failed")
	// ErrReplay marks a packet the replay list rejected (RFC 3711 §3.3.2).
	ErrReplay = errors.New("replayed packet")
	// ErrMalformed marks bytes that are not an RTP or RTCP packet.
	ErrMalformed = errors.New("malformed packet")
	// ErrNoMKI is returned by Rekey when the stream was set up without an MKI.
	ErrNoMKI = errors.New("rekey without gap needs an MKI (RFC 3711 §8.1)")
)

// keyRing is the set of master keys installed in one direction, in installation order.
type keyRing struct {
	keys []SRTPParams
}

func (k *keyRing) find(mki []byte) int {
	for i, p := range k.keys {
		if bytes.Equal(p.MKI, mki) {
			return i
		}
	}
	return -1
}

// newContext builds a pion Context holding every key of the ring, sending with cur.
func newContext(ring *keyRing, cur []byte, opts ...srtp.ContextOption) (*srtp.Context, error) {
	first := ring.keys[ring.find(cur)]
	o := append([]srtp.ContextOption{srtp.MasterKeyIndicator(first.MKI)}, opts...)
	if !first.EncryptSRTP {
		o = append(o, srtp.SRTPNoEncryption())
	}
	if !first.EncryptSRTCP {
		o = append(o, srtp.SRTCPNoEncryption())
	}
	ctx, err := srtp.CreateContext(first.MasterKey, first.MasterSalt, first.Profile, o...)
	if err != nil {
		return nil, fmt.Errorf("media: create SRTP context (%s): %w", ProfileName(first.Profile), err)
	}
	for _, p := range ring.keys {
		if bytes.Equal(p.MKI, first.MKI) {
			continue
		}
		if err := ctx.AddCipherForMKI(p.MKI, p.MasterKey, p.MasterSalt); err != nil {
			return nil, fmt.Errorf("media: add SRTP key (mki %x): %w", p.MKI, err)
		}
	}
	return ctx, nil
}

// checkRekey enforces what one pion Context can hold: one profile, one pair of encryption
// flags, MKIs of one length, each MKI once.
func (k *keyRing) checkRekey(p SRTPParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	base := k.keys[0]
	switch {
	case len(base.MKI) == 0:
		return ErrNoMKI
	case p.Profile != base.Profile:
		return fmt.Errorf("media: rekey changes profile %s to %s", ProfileName(base.Profile), ProfileName(p.Profile))
	case p.EncryptSRTP != base.EncryptSRTP || p.EncryptSRTCP != base.EncryptSRTCP:
		return errors.New("media: rekey changes the encryption flags")
	case len(p.MKI) != len(base.MKI):
		return fmt.Errorf("media: rekey MKI is %d bytes, stream uses %d", len(p.MKI), len(base.MKI))
	case k.find(p.MKI) >= 0:
		return fmt.Errorf("media: MKI %x already installed", p.MKI)
	}
	return nil
}

// txCrypto protects outgoing RTP and RTCP of our SSRC (RFC 3711 §3.3 sender steps, §3.4). It
// has no lock of its own: the Stream holds its mutex around every call, in the same hold as the
// tick's jitter-buffer pop, so that one lock round trip per tick serves both directions.
type txCrypto struct {
	ring keyRing
	cur  []byte
	ctx  *srtp.Context // nil: plain RTP/RTCP
	hdr  rtp.Header
	// Sender counters for the SR (RFC 3550 §6.4.1).
	packets, octets uint64
	sent            bool // since the last report
}

func newTxCrypto(p *SRTPParams, ssrc uint32) (*txCrypto, error) {
	t := &txCrypto{}
	if p == nil {
		return t, nil
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("send parameters: %w", err)
	}
	t.ring.keys = []SRTPParams{p.clone()}
	t.cur = t.ring.keys[0].MKI
	ctx, err := newContext(&t.ring, t.cur)
	if err != nil {
		return nil, err
	}
	// The sender's index starts at ROC||SEQ (RFC 3711 §3.3.1).
	ctx.SetROC(ssrc, p.ROC)
	t.ctx = ctx
	return t, nil
}

// protectRTP appends the SRTP packet for the marshalled RTP packet plain to dst[:0] and counts
// it as sent with payloadLen payload octets.
func (t *txCrypto) protectRTP(dst, plain []byte, payloadLen int) ([]byte, error) {
	var out []byte
	if t.ctx != nil {
		// pion writes header and ciphertext into dst itself: no copy of plain first.
		var err error
		if out, err = t.ctx.EncryptRTP(dst[:0], plain, &t.hdr); err != nil {
			return nil, err
		}
	} else {
		out = append(dst[:0], plain...)
	}
	t.packets++
	t.octets += uint64(payloadLen)
	t.sent = true
	return out, nil
}

// counts returns the SR sender counts and whether RTP went out since the last call with
// reset set.
func (t *txCrypto) counts(reset bool) (packets, octets uint64, sent bool) {
	packets, octets, sent = t.packets, t.octets, t.sent
	if reset {
		t.sent = false
	}
	return
}

// protectRTCP returns the SRTCP packet for the compound RTCP packet plain, built in dst.
func (t *txCrypto) protectRTCP(dst, plain []byte) ([]byte, error) {
	if t.ctx == nil {
		return append(dst[:0], plain...), nil
	}
	// pion copies plain into dst when their contents differ and then appends index and tag.
	return t.ctx.EncryptRTCP(dst[:0], plain, nil)
}

func (t *txCrypto) rekey(p SRTPParams) error {
	if t.ctx == nil {
		return errors.New("media: rekey of a plain RTP stream")
	}
	if err := t.ring.checkRekey(p); err != nil {
		return err
	}
	c := p.clone()
	if err := t.ctx.AddCipherForMKI(c.MKI, c.MasterKey, c.MasterSalt); err != nil {
		return fmt.Errorf("media: install send key %x: %w", c.MKI, err)
	}
	if err := t.ctx.SetSendMKI(c.MKI); err != nil {
		return fmt.Errorf("media: switch send key to %x: %w", c.MKI, err)
	}
	t.ring.keys = append(t.ring.keys, c)
	t.cur = c.MKI
	return nil
}

// retire removes the send key with this MKI unless it is still the one in use; known reports
// whether the MKI was installed at all.
func (t *txCrypto) retire(mki []byte) (known, removed bool, err error) {
	if t.ctx == nil {
		return false, false, nil
	}
	i := t.ring.find(mki)
	if i < 0 {
		return false, false, nil
	}
	if bytes.Equal(mki, t.cur) {
		// Still in use for sending: this direction has not rekeyed yet.
		return true, false, nil
	}
	if err := t.ctx.RemoveMKI(mki); err != nil {
		return true, false, fmt.Errorf("media: remove send key %x: %w", mki, err)
	}
	t.ring.keys = append(t.ring.keys[:i], t.ring.keys[i+1:]...)
	return true, true, nil
}

// rxContext is one receive crypto context (RFC 3711 §3.2): it authenticates and decrypts
// incoming SRTP and SRTCP (§3.3 receiver steps, §3.4), with replay protection always on for
// both and its own ROC estimate per SSRC. It has no lock of its own: the Stream holds its mutex
// around every call, so the receive path takes one lock per packet. rxCrypto holds the current
// one and, after ReplaceKeys, the previous one.
type rxContext struct {
	ring     keyRing
	cur      []byte
	ctx      *srtp.Context // nil: plain
	ssrcs    map[uint32]struct{}
	last     uint32 // the SSRC admitted most recently, to skip the map on the common path
	haveLast bool
	replay   bool
	hdr      rtp.Header
}

func newRxContext(p *SRTPParams) (*rxContext, error) {
	r := &rxContext{ssrcs: make(map[uint32]struct{}, maxSSRCStates)}
	if p == nil {
		return r, nil
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("receive parameters: %w", err)
	}
	r.ring.keys = []SRTPParams{p.clone()}
	r.cur = r.ring.keys[0].MKI
	if err := r.rebuild(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rxContext) rebuild() error {
	ctx, err := newContext(&r.ring, r.cur,
		// The SRTP index is 48 bits, the SRTCP index 31 (RFC 3711 §3.3.1, §3.4): neither wraps
		// under one master key.
		srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
			return newReplayWindow(srtpReplayWindow, 1<<48-1, &r.replay)
		}),
		srtp.SRTCPReplayDetectorFactory(func() replaydetector.ReplayDetector {
			return newReplayWindow(srtcpReplayWindow, 1<<31-1, &r.replay)
		}),
	)
	if err != nil {
		return err
	}
	r.ctx = ctx
	clear(r.ssrcs)
	r.haveLast = false
	return nil
}

// admit makes room for ssrc's state and presets its ROC on first sight (RFC 3711 §3.3.1: the
// receiver's ROC comes from key management for a stream joined late).
func (r *rxContext) admit(ssrc uint32) error {
	if r.haveLast && ssrc == r.last {
		return nil
	}
	if _, ok := r.ssrcs[ssrc]; ok {
		r.last = ssrc
		return nil
	}
	if len(r.ssrcs) >= maxSSRCStates {
		if err := r.rebuild(); err != nil {
			return err
		}
	}
	r.ssrcs[ssrc] = struct{}{}
	r.last, r.haveLast = ssrc, true
	r.ctx.SetROC(ssrc, r.ring.keys[0].ROC)
	return nil
}

// unprotectRTP authenticates and decrypts buf in place and returns the RTP packet and its
// header (valid until the next call).
func (r *rxContext) unprotectRTP(buf []byte) ([]byte, *rtp.Header, error) {
	if len(buf) < 12 {
		return nil, nil, fmt.Errorf("RTP packet of %d bytes: %w", len(buf), ErrMalformed)
	}
	if r.ctx == nil {
		if _, err := r.hdr.Unmarshal(buf); err != nil {
			return nil, nil, fmt.Errorf("RTP header: %w: %w", ErrMalformed, err)
		}
		return buf, &r.hdr, nil
	}
	ssrc := uint32(buf[8])<<24 | uint32(buf[9])<<16 | uint32(buf[10])<<8 | uint32(buf[11])
	if err := r.admit(ssrc); err != nil {
		return nil, nil, err
	}
	r.replay = false
	out, err := r.ctx.DecryptRTP(buf, buf, &r.hdr)
	if err != nil {
		return nil, nil, r.classify("SRTP", err)
	}
	return out, &r.hdr, nil
}

// unprotectRTCP authenticates (always) and decrypts (if the E flag says so) buf in place.
func (r *rxContext) unprotectRTCP(buf []byte) ([]byte, error) {
	if len(buf) < 8 {
		return nil, fmt.Errorf("RTCP packet of %d bytes: %w", len(buf), ErrMalformed)
	}
	if r.ctx == nil {
		return buf, nil
	}
	ssrc := uint32(buf[4])<<24 | uint32(buf[5])<<16 | uint32(buf[6])<<8 | uint32(buf[7])
	if err := r.admit(ssrc); err != nil {
		return nil, err
	}
	r.replay = false
	out, err := r.ctx.DecryptRTCP(buf, buf, nil)
	if err != nil {
		return nil, r.classify("SRTCP", err)
	}
	return out, nil
}

func (r *rxContext) classify(proto string, err error) error {
	switch {
	case r.replay:
		return fmt.Errorf("%s: %w", proto, ErrReplay)
	case errors.Is(err, srtp.ErrMKINotFound):
		return fmt.Errorf("%s: unknown MKI: %w", proto, ErrAuth)
	default:
		// Short packets, missing tags, bad tags and clear-text packets all land here: none of
		// them is authentic.
		return fmt.Errorf("%s: %w: %v", proto, ErrAuth, err)
	}
}

func (r *rxContext) rekey(p SRTPParams) error {
	if r.ctx == nil {
		return errors.New("media: rekey of a plain RTP stream")
	}
	if err := r.ring.checkRekey(p); err != nil {
		return err
	}
	c := p.clone()
	if err := r.ctx.AddCipherForMKI(c.MKI, c.MasterKey, c.MasterSalt); err != nil {
		return fmt.Errorf("media: install receive key %x: %w", c.MKI, err)
	}
	r.ring.keys = append(r.ring.keys, c)
	return nil
}

// retire removes the receive key with this MKI unless it is the only one left.
func (r *rxContext) retire(mki []byte) (known, removed bool, err error) {
	if r.ctx == nil {
		return false, false, nil
	}
	i := r.ring.find(mki)
	if i < 0 {
		return false, false, nil
	}
	if len(r.ring.keys) == 1 {
		return true, false, nil
	}
	if bytes.Equal(mki, r.cur) {
		// pion will not remove the key it would "send" with; on a receive Context that only
		// fixes the MKI length, so point it at another installed key first.
		for _, p := range r.ring.keys {
			if !bytes.Equal(p.MKI, mki) {
				if err := r.ctx.SetSendMKI(p.MKI); err != nil {
					return true, false, fmt.Errorf("media: retire receive key %x: %w", mki, err)
				}
				r.cur = p.MKI
				break
			}
		}
	}
	if err := r.ctx.RemoveMKI(mki); err != nil {
		return true, false, fmt.Errorf("media: remove receive key %x: %w", mki, err)
	}
	// ROC of the remaining keys: keys[0] supplies the preset ROC on rebuild; keep the
	// original's value.
	roc := r.ring.keys[0].ROC
	r.ring.keys = append(r.ring.keys[:i], r.ring.keys[i+1:]...)
	r.ring.keys[0].ROC = roc
	return true, true, nil
}
