package client

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media"
	"github.com/imsphone/imsphone/media/audio"
	"github.com/imsphone/imsphone/media/codec"
)

// mediaSession is a call's RTP (and, until RTCP-mux is agreed, RTCP) socket and its stream.
type mediaSession struct {
	rtp, rtcp *net.UDPConn
	// stream and stopped are guarded by the call's mu. Once stopped is set (the call ended),
	// stream is never set again, so a start that loses the race with the end stops the stream
	// it made instead of leaving it running.
	stream  *media.Stream
	stopped bool
	// ssrc is our SSRC, fixed at start and kept across rekeys (guarded by the call's mu).
	ssrc uint32
}

// openMedia binds the sockets an offer or answer announces: RTP, and RTCP for a=rtcp in case
// the peer refuses RTCP-mux.
func (p *Phone) openMedia() (*mediaSession, error) {
	ip := net.IP(p.cfg.MediaIP.AsSlice())
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		return nil, fmt.Errorf("client: RTP socket: %w", err)
	}
	rtcp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		rtp.Close()
		return nil, fmt.Errorf("client: RTCP socket: %w", err)
	}
	return &mediaSession{rtp: rtp, rtcp: rtcp}, nil
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (ms *mediaSession) local(mux bool) sdpoa.Local {
	return sdpoa.Local{Addr: addrOf(ms.rtp), RTCP: addrOf(ms.rtcp), RTCPMux: mux}
}

// stop ends the stream (RTCP BYE, RFC 3550 §6.6) or closes the unused sockets, and returns the
// final statistics. The caller has set stopped under the call's mu.
func (ms *mediaSession) stop() *media.Stats {
	if ms.stream == nil {
		ms.rtp.Close()
		ms.rtcp.Close()
		return nil
	}
	ms.stream.Stop()
	st := ms.stream.Stats()
	return &st
}

func srtpParams(s keymgmt.SRTP) *media.SRTPParams {
	return &media.SRTPParams{Profile: s.Profile, MasterKey: s.MasterKey, MasterSalt: s.MasterSalt, MKI: s.MKI,
		ROC: s.ROC, EncryptSRTP: s.EncryptSRTP, EncryptSRTCP: s.EncryptSRTCP}
}

// startMedia runs the stream the offer/answer agreed: the peer's RTP address (latched later to
// the real source, RFC 4961), RTCP-mux or the separate RTCP address, the codec, the
// telephone-event payload type and the keys of each direction.
func (c *Call) startMedia(ms *mediaSession, n *sdpoa.Negotiated, k *keymgmt.Keys, opts CallOptions) error {
	cd, err := codec.ByName(n.Codec.Name)
	if err != nil {
		return fmt.Errorf("client: codec %s: %w", n.Codec.Name, err)
	}
	src := opts.Source
	if src == nil {
		src = audio.Silence()
	}
	cfg := media.Config{Conn: ms.rtp, Remote: net.UDPAddrFromAddrPort(n.Remote), RTCPMux: n.RTCPMux,
		Codec: cd, PayloadTypes: media.PayloadTypes{TelephoneEvent: n.TelephoneEvent},
		Source: src, Sink: opts.Sink, Logger: c.log, RTCPMinInterval: c.p.cfg.RTCPMinInterval}
	if n.RTCPMux {
		ms.rtcp.Close()
	} else {
		cfg.RTCPConn, cfg.RemoteRTCP = ms.rtcp, net.UDPAddrFromAddrPort(n.RemoteRTCP)
	}
	if k != nil {
		cfg.SSRC = k.Send.SSRC
		for cfg.SSRC == 0 {
			// Our own random SSRC (RFC 3550 §8.1), chosen here so that the key log can name it.
			var b [4]byte
			if _, err := io.ReadFull(c.p.cfg.Rand, b[:]); err != nil {
				return fmt.Errorf("client: SSRC: %w", err)
			}
			cfg.SSRC = binary.BigEndian.Uint32(b[:])
		}
		cfg.RemoteSSRC = k.Recv.SSRC
		cfg.Send, cfg.Recv = srtpParams(k.Send), srtpParams(k.Recv)
	}
	st, err := media.New(cfg)
	if err != nil {
		return fmt.Errorf("client: media: %w", err)
	}
	// While our direction does not send (recvonly, inactive: hold), no RTP goes out; RTCP
	// continues (RFC 3264 §5.1) and the SSRC, sequence numbers and ROC carry on across hold and
	// resume (RFC 3711 §3.3.1, RFC 3550 §5.1).
	st.SetSending(n.Direction.Sends())
	if err := st.Start(c.ctx); err != nil {
		st.Stop()
		return fmt.Errorf("client: media start: %w", err)
	}
	c.mu.Lock()
	if ms.stopped {
		// The call ended (a BYE, CANCEL or Close) while the stream was being made.
		c.mu.Unlock()
		st.Stop()
		return ErrCallEnded
	}
	ms.stream, ms.ssrc = st, cfg.SSRC
	c.keys, c.neg = k, n
	c.mu.Unlock()
	suite, source := "none", "none"
	if k != nil {
		suite, source = k.Suite, k.Method
		c.p.logKey(c.CallID, keyLogSend, cfg.SSRC, k.Suite, k.Send)
		if k.Recv.SSRC != 0 {
			c.p.logKey(c.CallID, keyLogRecv, k.Recv.SSRC, k.Suite, k.Recv)
		}
	}
	c.log.Info("media started", "remote", n.Remote, "codec", n.Codec.Name, "rtcp_mux", n.RTCPMux, "keys", k)
	go c.mediaEvents(st, suite, source, k)
	return nil
}

func (c *Call) mediaEvents(st *media.Stream, suite, source string, k *keymgmt.Keys) {
	var tick <-chan time.Time
	if iv := c.p.cfg.StatsInterval; iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	up := false
	for {
		select {
		case e, ok := <-st.Events():
			if !ok {
				return
			}
			switch e.Kind {
			case media.EventLatched:
				if !up {
					up = true
					if k != nil && k.Recv.SSRC == 0 {
						c.p.logKey(c.CallID, keyLogRecv, e.SSRC, k.Suite, k.Recv)
					}
					c.mu.Lock()
					c.mediaUp = time.Now()
					c.mu.Unlock()
					// Never before EventAnswered: the callee's media runs from its 2xx on,
					// before the ACK that makes the call answered.
					select {
					case <-c.answeredEv:
					case <-c.ctx.Done():
						return
					}
					c.emit(Event{Kind: EventMediaUp, Suite: suite, KeySource: source})
				}
			case media.EventDTMF:
				c.emit(Event{Kind: EventDTMF, Digit: e.Digit})
			case media.EventBye:
				c.log.Debug("RTCP BYE from peer", "reason", e.Reason)
			}
		case <-tick:
			s := st.Stats()
			c.emit(Event{Kind: EventStats, Stats: &s})
		}
	}
}
