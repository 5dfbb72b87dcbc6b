package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/imsphone/imsphone/media/audio"
	"github.com/pion/rtcp"
)

// tickLoop runs the 20 ms media clock: tick n at start + n·20 ms (see pacer).
func (s *Stream) tickLoop(ctx context.Context, start time.Time) {
	p := pacer{start: start, period: ptime}
	for {
		now := s.clock.Now()
		due, wait, skipped := p.poll(now)
		if !due {
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(coalesce(now, wait)):
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if skipped > 0 {
			// RFC 3550 §5.1: the timestamp keeps tracking sampling time across the gap.
			s.ts += uint32(skipped) * uint32(s.samples)
			s.mu.Lock()
			s.st.SkippedTicks += uint64(skipped)
			s.mu.Unlock()
		}
		s.tick(now)
		p.n++
	}
}

// tick sends one packet, plays one frame and sends RTCP when it is due.
func (s *Stream) tick(now time.Time) {
	plain, payloadLen, err := s.nextPacket()
	if err != nil {
		s.log.Debug("send RTP", "err", err)
	}
	frame, play, err := s.transmit(now, plain, payloadLen)
	if err != nil {
		s.log.Debug("send RTP", "err", err)
	}
	if play {
		s.play(frame)
	}
	// nextRTCP is written only on this goroutine (and before it starts), so no lock here.
	if !now.Before(s.nextRTCP) {
		if err := s.sendRTCP(now, false); err != nil {
			s.log.Debug("send RTCP", "err", err)
		}
	}
}

// nextPacket builds this tick's RTP packet in s.plain and returns it with its payload length: a
// telephone-event while a digit is being sent (RFC 4733 §2.5: events replace audio for their
// duration), otherwise one frame of the Source; nil while sending is paused.
func (s *Stream) nextPacket() (plain []byte, payloadLen int, err error) {
	paused := s.paused.Load()
	if s.dtmfTx != nil {
		// dtmfQueued spares the tick a lock round trip while no digit waits.
		if s.dtmfQueued.Load() > 0 && s.dtmfTx.Idle() && !paused {
			s.mu.Lock()
			d := s.dtmfQueue[0]
			s.dtmfQueue = s.dtmfQueue[1:]
			s.dtmfQueued.Store(int32(len(s.dtmfQueue)))
			s.mu.Unlock()
			if err := s.dtmfTx.Start(d, s.ts); err != nil {
				s.log.Debug("DTMF digit skipped", "digit", string(d), "err", err)
			}
		}
		if !s.dtmfTx.Idle() {
			// The Source keeps real time (a microphone would otherwise back up) and its
			// audio during the event is dropped.
			if s.cfg.Source != nil {
				_, _ = audio.ReadFull(s.cfg.Source, s.pcm)
			}
			// One payload per interval (codec.DTMFSender.Next).
			ts, marker, payloads := s.dtmfTx.Next(s.samples)
			s.ts += uint32(s.samples)
			s.marker = true
			if len(payloads) == 0 {
				return nil, 0, nil
			}
			plain, err = s.marshalRTP(s.cfg.PayloadTypes.TelephoneEvent, ts, marker, payloads[0])
			return plain, len(payloads[0]), err
		}
	}
	if paused {
		// On hold nothing goes out, but the Source keeps real time and the RTP timestamp keeps
		// advancing with the sampling clock (RFC 3550 §5.1) while the sequence number does not:
		// the peer sees no loss, and its jitter estimate and ROC stay coherent on resume. The
		// first packet after the pause starts a talkspurt and carries the marker (RFC 3551 §4.1).
		if s.cfg.Source != nil {
			_, _ = audio.ReadFull(s.cfg.Source, s.pcm)
		}
		s.ts += uint32(s.samples)
		s.marker = true
		return nil, 0, nil
	}
	pcm := s.pcm
	if s.cfg.Source != nil {
		if n, err := audio.ReadFull(s.cfg.Source, pcm); err != nil {
			// At the end of the Source the call goes on with silence.
			clear(pcm[n:])
		}
	} else {
		clear(pcm)
	}
	s.payload = s.cfg.Codec.Encode(s.payload[:0], pcm)
	plain, err = s.marshalRTP(s.codecPT, s.ts, s.marker, s.payload)
	s.marker = false
	s.ts += uint32(s.samples)
	return plain, len(s.payload), err
}

// marshalRTP builds one RTP packet in s.plain; the sequence number advances even when the packet
// is not sent in the end, so that the receiver sees the loss (RFC 3550 §5.1). Our packets have
// the fixed 12-octet header of RFC 3550 §5.1 alone (no padding, extension or CSRC), written
// field by field: rtp.Header.MarshalTo would copy the whole Header struct first.
func (s *Stream) marshalRTP(pt uint8, ts uint32, marker bool, payload []byte) ([]byte, error) {
	const hdrLen = 12
	seq := s.seq
	s.seq++
	if pt > 127 {
		return nil, fmt.Errorf("RTP payload type %d out of range", pt)
	}
	if hdrLen+len(payload) > len(s.plain) {
		return nil, fmt.Errorf("RTP payload of %d bytes too large", len(payload))
	}
	b := s.plain[:hdrLen+len(payload)]
	b[0] = 2 << 6 // V=2, P=0, X=0, CC=0
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], s.cfg.SSRC)
	copy(b[hdrLen:], payload)
	return b, nil
}

// transmit is the tick's hand-over with the network side. In one hold of mu it protects plain
// (nil: nothing to send this tick) and takes the frame due at now from the jitter buffer, which
// the receive goroutine fills under the same mutex: one lock round trip per tick serves both
// directions. Then it writes the packet. frame is the payload to play (see popLocked), decoded
// outside the lock; play false means nothing is due.
func (s *Stream) transmit(now time.Time, plain []byte, payloadLen int) (frame []byte, play bool, err error) {
	var wire []byte
	s.mu.Lock()
	if plain != nil {
		wire, err = s.tx.protectRTP(s.wire, plain, payloadLen)
	}
	frame, play = s.popLocked(now)
	s.mu.Unlock()
	if plain == nil {
		return frame, play, nil
	}
	if err != nil {
		return frame, play, fmt.Errorf("protect RTP: %w", err)
	}
	return frame, play, s.write(s.rtpConn, wire, *s.sendTo.Load())
}

// addrPortWriter is implemented by *net.UDPConn: writing to a netip.AddrPort does not allocate.
type addrPortWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

func (s *Stream) write(c net.PacketConn, b []byte, dst netip.AddrPort) error {
	if u, ok := c.(addrPortWriter); ok {
		_, err := u.WriteToUDPAddrPort(b, dst)
		return err
	}
	_, err := c.WriteTo(b, net.UDPAddrFromAddrPort(dst))
	return err
}

// popLocked takes the frame due at now from the jitter buffer: its payload, which stays valid
// until the next pop (jitter.Frame) and so may be decoded outside the lock, or nil for a frame
// to conceal; play false when no frame is due.
func (s *Stream) popLocked(now time.Time) (payload []byte, play bool) {
	f, ok := s.jb.Pop(now)
	if !ok {
		return nil, false
	}
	return f.Payload, true
}

// play decodes one frame into the Sink; a missing frame (payload nil, or one that does not
// decode) is concealed by media/jitter's Concealer (pitch repetition after G.711 Appendix I).
func (s *Stream) play(payload []byte) {
	if s.cfg.Sink == nil {
		return
	}
	out := s.pcmOut[:0]
	if payload != nil {
		var err error
		if out, err = s.cfg.Codec.Decode(out, payload); err != nil {
			s.log.Debug("decode", "err", err)
			out = out[:0]
		} else {
			s.plc.Good(out)
		}
	}
	if len(out) == 0 {
		out = s.plc.Conceal(out, s.samples)
	}
	s.pcmOut = out[:0]
	if err := s.cfg.Sink.Write(out); err != nil {
		s.log.Debug("sink", "err", err)
	}
}

// rtcpIntervalLocked draws the next RTCP interval (RFC 3550 §6.2, A.7) for a two-party session
// whose bandwidth is that of the codec at 20 ms packetisation over IPv4/UDP.
func (s *Stream) rtcpIntervalLocked() time.Duration {
	min := s.cfg.RTCPMinInterval
	if min <= 0 {
		min = rtcpMinTime
	}
	members, senders := 1, 0
	if s.haveSSRC {
		members++
		if s.st.PacketsReceived > 0 {
			senders++
		}
	}
	_, _, weSent := s.tx.counts(false)
	if weSent {
		senders++
	}
	octetsPerPacket := s.samples + 12 + udpIPOverhead // G.711: one octet per sample
	sessionBW := float64(octetsPerPacket) * float64(time.Second/ptime)
	d := rtcpInterval(members, senders, sessionBW*rtcpBWShare, weSent, s.avgRTCPSize, s.initialRTCP, min, s.rng.Float64())
	s.initialRTCP = false
	return d
}

// sendRTCP sends one compound packet: SR (if we sent since the last report) or RR, then SDES
// CNAME (RFC 3550 §6.1), then BYE when bye is set.
func (s *Stream) sendRTCP(now time.Time, bye bool) error {
	s.mu.Lock()
	if bye {
		if s.byeSent {
			s.mu.Unlock()
			return nil
		}
		s.byeSent = true
	}
	var blocks []rtcp.ReceptionReport
	if s.haveSSRC && s.rxs.started {
		var dlsr uint32
		if s.lsr != 0 {
			dlsr = durationToShort(now.Sub(s.lsrAt))
		}
		blocks = []rtcp.ReceptionReport{{
			SSRC:               s.remoteSSRC,
			FractionLost:       s.rxs.reportFraction(),
			TotalLost:          s.rxs.reportLost(),
			LastSequenceNumber: s.rxs.extendedMax(),
			Jitter:             uint32(s.rxs.jitter),
			LastSenderReport:   s.lsr,
			Delay:              dlsr,
		}}
		s.st.FractionLost = float64(s.rxs.lastFraction) / 256
	}
	var pkts []rtcp.Packet
	sentPackets, sentOctets, weSent := s.tx.counts(true)
	if weSent {
		// The SR's RTP timestamp corresponds to the NTP time of now (RFC 3550 §6.4.1).
		elapsed := now.Sub(s.t0)
		rtpNow := s.cfg.InitialTimestamp + uint32(int64(elapsed)*int64(s.cfg.Codec.ClockRate())/int64(time.Second))
		pkts = append(pkts, &rtcp.SenderReport{
			SSRC: s.cfg.SSRC, NTPTime: toNTP(now), RTPTime: rtpNow,
			PacketCount: uint32(sentPackets), OctetCount: uint32(sentOctets),
			Reports: blocks,
		})
	} else {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: s.cfg.SSRC, Reports: blocks})
	}
	pkts = append(pkts, rtcp.NewCNAMESourceDescription(s.cfg.SSRC, s.cfg.CNAME))
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{s.cfg.SSRC}})
	}
	s.nextRTCP = now.Add(s.rtcpIntervalLocked())
	dst := s.remoteRTCP
	s.mu.Unlock()

	plain, err := rtcp.Marshal(pkts)
	if err != nil {
		return fmt.Errorf("marshal RTCP: %w", err)
	}
	s.mu.Lock()
	wire, err := s.tx.protectRTCP(make([]byte, 0, len(plain)+64), plain)
	if err == nil {
		s.st.RTCPSent++
		s.avgRTCPSize = (float64(len(wire))+udpIPOverhead)/16 + s.avgRTCPSize*15/16
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("protect RTCP: %w", err)
	}
	conn := s.rtcpConn
	if s.cfg.RTCPMux || conn == nil {
		conn = s.rtpConn
	}
	return s.write(conn, wire, dst)
}

// SetSending turns sending RTP on or off, for the SDP direction attribute of the current
// offer/answer (RFC 3264 §5.1, §8.4): off for sendonly→recvonly on our side, recvonly and
// inactive (hold), on for sendrecv and sendonly. While off no RTP packet leaves the stream but
// everything else goes on: received audio is still played, RTCP reports are still sent (RFC 3264
// §5.1: RTCP continues in every direction; after one interval without RTP they become RRs, RFC
// 3550 §6.4) and the Source is still read so that it keeps real time. On resume the sequence
// number continues from the last packet sent (no gap, so the peer counts no loss) and the RTP
// timestamp has advanced by the paused time (RFC 3550 §5.1), with the marker bit set. A
// telephone-event under way is finished first; queued digits wait until sending resumes.
// Streams start sending; SetSending may be called at any time, from any goroutine, before or
// after Start.
func (s *Stream) SetSending(on bool) { s.paused.Store(!on) }

// Sending reports whether the stream sends RTP (see SetSending).
func (s *Stream) Sending() bool { return !s.paused.Load() }

// SendDTMF queues digits (0-9 * # A-D) to send as RFC 4733 telephone-events.
func (s *Stream) SendDTMF(digits string) error {
	if s.dtmfTx == nil {
		return errors.New("media: telephone-event not negotiated")
	}
	for _, d := range digits {
		if !validDigit(d) {
			return fmt.Errorf("media: %q is not a DTMF digit", d)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.dtmfQueue)+len(digits) > 64 {
		return errors.New("media: DTMF queue full")
	}
	for _, d := range digits {
		s.dtmfQueue = append(s.dtmfQueue, d)
	}
	s.dtmfQueued.Store(int32(len(s.dtmfQueue)))
	return nil
}

func validDigit(d rune) bool {
	return (d >= '0' && d <= '9') || d == '*' || d == '#' || (d >= 'A' && d <= 'D') || (d >= 'a' && d <= 'd')
}

// Rekey installs new master keys without a gap (RFC 3711 §8.1 with MKI): the receive key is
// added beside the old ones, which keep decrypting packets still in flight, and the send side
// switches to its new key at once. Either argument may be nil. The SRTP index and SRTCP index
// continue: they belong to the crypto context, not to the master key.
func (s *Stream) Rekey(send, recv *SRTPParams) error {
	if recv != nil {
		s.mu.Lock()
		err := s.rx.rekey(*recv)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("media: rekey receive: %w", err)
		}
	}
	if send != nil {
		s.mu.Lock()
		err := s.tx.rekey(*send)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("media: rekey send: %w", err)
		}
	}
	return nil
}

// RetireKey removes the master key with this MKI, once no packet protected with it can still
// arrive, from each direction where a newer key has replaced it: a receive key goes unless it is
// the only one left, a send key unless it is still the one in use (each direction rekeys on its
// own schedule, and key management may use one MKI value in both directions). It fails when the
// MKI is unknown or was replaced in neither direction.
func (s *Stream) RetireKey(mki []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rk, rr, err := s.rx.retire(mki)
	if err != nil {
		return err
	}
	tk, tr, err := s.tx.retire(mki)
	if err != nil {
		return err
	}
	switch {
	case !rk && !tk:
		return fmt.Errorf("media: MKI %x is not installed", mki)
	case !rr && !tr:
		return fmt.Errorf("media: MKI %x is still in use (no newer key installed)", mki)
	}
	return nil
}

// Stats returns a snapshot of the statistics with the E-model estimate.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.PacketsSent, st.OctetsSent, _ = s.tx.counts(false)
	st.PacketsExpected = s.prior.expected + uint64(s.rxs.expected())
	st.PacketsLost = s.prior.lost + s.rxs.lost()
	st.HighestSeq = s.rxs.extendedMax()
	if st.PacketsExpected > 0 && st.PacketsLost > 0 {
		st.LossFraction = float64(st.PacketsLost) / float64(st.PacketsExpected)
	}
	st.Jitter = s.rxs.jitterDuration(s.cfg.Codec.ClockRate())
	js := s.jb.Stats()
	st.Late = s.prior.late + js.Late
	st.Discarded = s.prior.discarded + js.Discarded
	st.Concealed = s.prior.missing + js.Missing
	st.PlayoutDelay = js.Delay
	oneWay := ptime + st.PlayoutDelay
	if st.RTTValid {
		oneWay += st.RTT / 2
	}
	// Frames that came too late to play are lost to the listener too.
	loss := st.LossFraction
	if st.PacketsExpected > 0 {
		loss = float64(max(st.PacketsLost, 0)+int64(st.Late)) / float64(st.PacketsExpected)
	}
	em := EModel{OneWayDelay: oneWay, PacketLoss: loss, Ie: G711Ie, Bpl: G711WithPLCBpl, BurstR: 1}
	st.R = em.R()
	st.MOS = MOS(st.R)
	return st
}
