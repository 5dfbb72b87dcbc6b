package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/imsphone/imsphone/media/jitter"
	"github.com/pion/rtp"
)

// DefaultPreviousGrace is how long the previous receive context stays installed after the
// first packet authenticated under the current one (see ReplaceKeys).
const DefaultPreviousGrace = 2 * time.Second

// rxCrypto is the receive side of a stream: the current crypto context and, after ReplaceKeys,
// the previous one, kept so that packets the peer protected with its old master key and that
// are still in flight (or sent before the peer switched) stay receivable (RFC 4568 §7.1.4).
// The embedded current context serves the MKI-based Rekey and RetireKey.
type rxCrypto struct {
	*rxContext
	prev    *rxContext
	scratch []byte // a packet's bytes before a failed trial under current (GCM zeroes them)
	// curSeen: a packet has authenticated under current since it was installed; prevUntil is
	// when prev goes, counted from the first such packet.
	curSeen   bool
	prevUntil time.Time
	grace     time.Duration
}

func newRxCrypto(p *SRTPParams) (*rxCrypto, error) {
	c, err := newRxContext(p)
	if err != nil {
		return nil, err
	}
	return &rxCrypto{rxContext: c, grace: DefaultPreviousGrace}, nil
}

// open authenticates and decrypts the SRTP packet in buf in place, under the current context
// and, only if that fails, under the previous one. fromPrev says which context took it.
// Without a previous context this is exactly the current context's unprotectRTP.
func (r *rxCrypto) open(buf []byte) (pkt []byte, hdr *rtp.Header, fromPrev bool, err error) {
	if r.prev == nil {
		pkt, hdr, err = r.unprotectRTP(buf)
		return pkt, hdr, false, err
	}
	r.scratch = append(r.scratch[:0], buf...)
	pkt, hdr, err = r.unprotectRTP(buf)
	if err == nil || !retryable(err) {
		return pkt, hdr, false, err
	}
	copy(buf, r.scratch)
	p2, h2, err2 := r.prev.unprotectRTP(buf)
	switch {
	case err2 == nil:
		return p2, h2, true, nil
	case errors.Is(err2, ErrReplay):
		return nil, nil, false, err2
	}
	return nil, nil, false, err
}

// openRTCP is open for SRTCP.
func (r *rxCrypto) openRTCP(buf []byte) (plain []byte, fromPrev bool, err error) {
	if r.prev == nil {
		plain, err = r.unprotectRTCP(buf)
		return plain, false, err
	}
	r.scratch = append(r.scratch[:0], buf...)
	plain, err = r.unprotectRTCP(buf)
	if err == nil || !retryable(err) {
		return plain, false, err
	}
	copy(buf, r.scratch)
	p2, err2 := r.prev.unprotectRTCP(buf)
	switch {
	case err2 == nil:
		return p2, true, nil
	case errors.Is(err2, ErrReplay):
		return nil, false, err2
	}
	return nil, false, err
}

// retryable: pion checks the replay list before authenticating, so a "replay" under current
// does not prove the packet was current's; only a successful authentication does.
func retryable(err error) bool { return errors.Is(err, ErrAuth) || errors.Is(err, ErrReplay) }

// authenticated records a packet accepted under current (fromPrev false) at now and drops the
// previous context once its grace has run out. first reports the first packet under a
// current context that replaced another.
func (r *rxCrypto) authenticated(fromPrev bool, now time.Time) (first bool) {
	if r.prev == nil || fromPrev {
		return false
	}
	if !r.curSeen {
		r.curSeen = true
		r.prevUntil = now.Add(r.grace)
		return true
	}
	if now.After(r.prevUntil) {
		r.prev = nil
		r.scratch = nil
	}
	return false
}

// replace installs a fresh current context for p and keeps the one it replaces as previous
// (an older previous is dropped: only the last two master keys are receivable).
func (r *rxCrypto) replace(p SRTPParams) error {
	if r.ctx == nil {
		return errors.New("media: replace keys of a plain RTP stream")
	}
	c, err := newRxContext(&p)
	if err != nil {
		return err
	}
	r.prev, r.rxContext = r.rxContext, c
	r.curSeen = false
	if cap(r.scratch) < maxDatagram {
		r.scratch = make([]byte, 0, maxDatagram) // no allocation per packet in the window
	}
	return nil
}

// replace switches the send side to a fresh crypto context for p at once: new master key,
// possibly a new suite, the SRTP index continuing from p.ROC and our sequence number, the SRTCP
// index restarting at 0 (a new context, RFC 3711 §3.2, §3.4).
func (t *txCrypto) replace(p SRTPParams, ssrc uint32) error {
	if t.ctx == nil {
		return errors.New("media: replace keys of a plain RTP stream")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	ring := keyRing{keys: []SRTPParams{p.clone()}}
	ctx, err := newContext(&ring, ring.keys[0].MKI)
	if err != nil {
		return err
	}
	ctx.SetROC(ssrc, p.ROC)
	t.ring, t.cur, t.ctx = ring, ring.keys[0].MKI, ctx
	return nil
}

// ReplaceKeys installs new crypto contexts, as a re-INVITE with new SDES keys requires (RFC 4568
// §7.1.4: a new master key, possibly with a new suite, means a new crypto context whose ROC
// starts from the signalled value, usually 0; the sender's SEQ may or may not continue). It
// works without MKI, unlike Rekey. Either argument may be nil to keep that direction.
//
// send: the next RTP and RTCP packets go out under the new context (SRTP index ROC||SEQ with
// our sequence number continuing, SRTCP index restarting at 0).
//
// recv: the new context becomes current and the replaced one previous. Each SRTP or SRTCP
// packet is authenticated under current first and, only if that fails, under previous (each
// has its own replay windows and ROC estimate); a packet failing both counts one
// authentication failure. Previous goes away PreviousGrace (default 2 s) after the first packet
// authenticated under current, at RetirePrevious, or at the next ReplaceKeys with recv. Why
// then: during the offer/answer exchange (RFC 3264 §8, RFC 4568 §7.1.4) the peer switches its
// send key once, at an instant we cannot know; until its first new-key packet arrives the old
// key is what it uses, and after that only old-key packets already in flight or reordered can
// still come, and those are useless to the jitter buffer after about its maximum delay. A
// count of packets is no bound on that, a time is. When an offer with new keys is rejected,
// the owner calls ReplaceKeys again with the old parameters (a fresh context for them).
//
// Statistics continue when the peer keeps its SSRC and sequence numbers. When the first packet
// authenticated under the new context comes from a new SSRC, or with a sequence number outside
// the RFC 3550 A.1 window of the old one, it starts a new source (as RFC 3550 §8.2 does for a
// new SSRC): fresh sequence tracking, jitter estimate and jitter buffer, with the cumulative
// expected/lost/late counts carried over so they do not jump. Packets authenticated under
// previous never latch an address or SSRC (symmetric RTP stays tied to the newest key).
func (s *Stream) ReplaceKeys(send, recv *SRTPParams) error {
	if recv != nil {
		if err := recv.Validate(); err != nil {
			return fmt.Errorf("media: replace receive keys: %w", err)
		}
		s.mu.Lock()
		err := s.rx.replace(*recv)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("media: replace receive keys: %w", err)
		}
	}
	if send != nil {
		s.mu.Lock()
		err := s.tx.replace(*send, s.cfg.SSRC)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("media: replace send keys: %w", err)
		}
	}
	return nil
}

// RetirePrevious drops the previous receive context now (see ReplaceKeys); it reports whether
// there was one.
func (s *Stream) RetirePrevious() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := s.rx.prev != nil
	s.rx.prev, s.rx.scratch = nil, nil
	return had
}

// SetPreviousGrace sets how long the previous receive context outlives the first packet
// authenticated under the current one (0 restores DefaultPreviousGrace).
func (s *Stream) SetPreviousGrace(d time.Duration) {
	if d <= 0 {
		d = DefaultPreviousGrace
	}
	s.mu.Lock()
	s.rx.grace = d
	s.mu.Unlock()
}

// SetRemote changes where RTP (and RTCP) go, for a re-INVITE that moves the peer (RFC 4568
// §7.1.4: a new address comes with a new key, so call ReplaceKeys too). rtcpAddr nil means
// rtpAddr's port + 1 (RFC 3550 §11), or rtpAddr with RTCP-mux. The latch is released: the next
// authenticated packet (under the current context) fixes the peer's source address again.
func (s *Stream) SetRemote(rtpAddr, rtcpAddr *net.UDPAddr) error {
	if rtpAddr == nil {
		return errors.New("media: SetRemote without an address")
	}
	ap := addrPort(rtpAddr)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote, s.latched, s.latchedRTCP = ap, false, false
	switch {
	case rtcpAddr != nil:
		s.remoteRTCP = addrPort(rtcpAddr)
	case s.cfg.RTCPMux:
		s.remoteRTCP = ap
	default:
		s.remoteRTCP = netip.AddrPortFrom(ap.Addr(), ap.Port()+1)
	}
	to := ap
	s.sendTo.Store(&to)
	return nil
}

// newSourceLocked restarts reception statistics for a source that changed with a new key
// (see ReplaceKeys), carrying the cumulative counts over.
func (s *Stream) newSourceLocked(ssrc uint32) {
	s.prior.expected += uint64(s.rxs.expected())
	s.prior.lost += s.rxs.lost()
	js := s.jb.Stats()
	s.prior.late += js.Late
	s.prior.discarded += js.Discarded
	s.prior.missing += js.Missing
	s.rxs = rxStats{}
	s.jb = jitter.New(jitterConfig(s.cfg))
	s.remoteSSRC, s.haveSSRC = ssrc, true
	s.st.RemoteSSRC = ssrc
	s.lsr = 0
}

// priorSource holds the cumulative counts of the sources a key change replaced.
type priorSource struct {
	expected                 uint64
	lost                     int64
	late, discarded, missing uint64
}
