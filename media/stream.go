package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imsphone/imsphone/media/audio"
	"github.com/imsphone/imsphone/media/codec"
	"github.com/imsphone/imsphone/media/jitter"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// PayloadTypes are the negotiated dynamic payload types besides the codec's own.
type PayloadTypes struct {
	// TelephoneEvent is the RFC 4733 telephone-event payload type (96..127); 0 disables DTMF.
	TelephoneEvent uint8
}

// Config describes one bidirectional RTP session with one peer. media knows nothing of SIP,
// SDP or key management: the caller resolves addresses, codec and SRTP parameters.
type Config struct {
	// Local is the address to bind when Conn is nil; Remote is where RTP goes until the first
	// authenticated packet latches the peer's real source address (symmetric RTP, RFC 4961).
	Local, Remote *net.UDPAddr
	// RemoteRTCP is the RTCP destination without RTCP-mux; nil means Remote's port + 1
	// (RFC 3550 §11).
	RemoteRTCP *net.UDPAddr
	// Conn and RTCPConn replace the sockets New would open; the Stream owns and closes them.
	// RTCPConn is unused with RTCPMux.
	Conn, RTCPConn net.PacketConn
	// RTCPMux multiplexes RTCP on the RTP port (RFC 5761).
	RTCPMux bool

	Codec        codec.Codec
	PayloadTypes PayloadTypes

	// SSRC is ours (0: random); RemoteSSRC, when known from signalling, makes the stream accept
	// only that source from the start; otherwise the first authenticated packet fixes it.
	SSRC, RemoteSSRC uint32
	InitialSeq       uint16
	InitialTimestamp uint32

	// Send and Recv are the SRTP parameters of each direction; nil means plain RTP/RTCP.
	Send, Recv *SRTPParams

	Source audio.Source // what we send (nil: silence)
	Sink   audio.Sink   // where received audio plays (nil: discarded)

	Clock  Clock        // nil: SystemClock
	Logger *slog.Logger // nil: discard
	// Rand seeds the RTCP interval randomisation (RFC 3550 §6.2); nil: crypto-seeded.
	Rand *mrand.Rand

	// CNAME for SDES (RFC 3550 §6.5.1); empty: derived from the SSRC.
	CNAME string
	// RTCPMinInterval replaces the 5 s minimum RTCP interval of RFC 3550 §6.2 (tests, or
	// ReducedMinInterval); 0 keeps 5 s.
	RTCPMinInterval time.Duration
	// Jitter configures the adaptive jitter buffer; a zero value takes its defaults.
	Jitter jitter.Config
	// EventQueue is the capacity of the Events channel (default 16); events beyond it are
	// dropped and counted rather than blocking the media path.
	EventQueue int
}

// EventKind says what happened.
type EventKind int

const (
	// EventDTMF: an RFC 4733 digit arrived (authenticated).
	EventDTMF EventKind = iota + 1
	// EventBye: an authenticated RTCP BYE from the peer's SSRC (RFC 3550 §6.6).
	EventBye
	// EventLatched: the first authenticated packet fixed the peer's address and SSRC.
	EventLatched
)

func (k EventKind) String() string {
	switch k {
	case EventDTMF:
		return "dtmf"
	case EventBye:
		return "bye"
	case EventLatched:
		return "latched"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something a stream reports to its owner.
type Event struct {
	Kind   EventKind
	Digit  rune           // EventDTMF
	Addr   netip.AddrPort // EventLatched: the peer's RTP (or RTCP) source address
	SSRC   uint32         // the peer's SSRC
	Reason string         // EventBye: the BYE reason, if any
}

const (
	ptime       = 20 * time.Millisecond
	maxDatagram = 1500
)

// Stream is one RTP/SRTP session: it sends the Source every 20 ms, plays received audio into the
// Sink through an adaptive jitter buffer, runs RTCP, and keeps statistics.
type Stream struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	// systemClock: clock is SystemClock, whose monotonic reading arrival may take alone.
	systemClock bool
	rtpConn     net.PacketConn
	rtcpConn    net.PacketConn
	tx          *txCrypto
	rx          *rxCrypto
	events      chan Event
	samples     int // per packet
	// The codec's payload type and clock rate, read once: the receive path needs them per
	// packet and they cannot change.
	codecPT   uint8
	clockRate int64

	mu          sync.Mutex
	remote      netip.AddrPort
	sendTo      atomic.Pointer[netip.AddrPort] // remote, for the send path without mu
	remoteRTCP  netip.AddrPort
	latched     bool
	latchedRTCP bool
	remoteSSRC  uint32
	haveSSRC    bool
	t0          time.Time
	rxs         rxStats
	prior       priorSource // sources replaced with a key change (ReplaceKeys)
	st          Stats
	jb          *jitter.Buffer
	dtmfRx      *codec.DTMFReceiver
	plc         *jitter.Concealer
	dtmfQueue   []rune
	dtmfQueued  atomic.Int32 // len(dtmfQueue), for the tick to read without mu
	lsr         uint32
	lsrAt       time.Time
	avgRTCPSize float64
	nextRTCP    time.Time
	initialRTCP bool
	rng         *mrand.Rand
	seq         uint16
	ts          uint32
	marker      bool
	started     bool
	stopped     bool
	byeSent     bool

	// paused is the hold state set by SetSending (zero value: sending).
	paused atomic.Bool

	// Send-side buffers, used only by the tick goroutine (and by Stop after it ended).
	pcm     []int16
	payload []byte
	plain   []byte
	wire    []byte
	dtmfTx  *codec.DTMFSender
	pcmOut  []int16

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New validates cfg, opens the sockets (unless injected) and builds the SRTP contexts. Nothing
// is sent before Start.
func New(cfg Config) (*Stream, error) {
	if cfg.Codec == nil {
		return nil, errors.New("media: config has no codec")
	}
	if cfg.Remote == nil {
		return nil, errors.New("media: config has no remote address")
	}
	if cfg.SSRC == 0 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("media: random SSRC: %w", err)
		}
		cfg.SSRC = binary.BigEndian.Uint32(b[:]) | 1
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CNAME == "" {
		cfg.CNAME = fmt.Sprintf("imsphone-%08x", cfg.SSRC)
	}
	if cfg.EventQueue <= 0 {
		cfg.EventQueue = 16
	}
	if cfg.Rand == nil {
		var seed [16]byte
		if _, err := rand.Read(seed[:]); err != nil {
			return nil, fmt.Errorf("media: seed: %w", err)
		}
		cfg.Rand = mrand.New(mrand.NewPCG(binary.BigEndian.Uint64(seed[:8]), binary.BigEndian.Uint64(seed[8:])))
	}
	tx, err := newTxCrypto(cfg.Send, cfg.SSRC)
	if err != nil {
		return nil, err
	}
	rx, err := newRxCrypto(cfg.Recv)
	if err != nil {
		return nil, err
	}
	s := &Stream{
		cfg:         cfg,
		log:         cfg.Logger.With("ssrc", fmt.Sprintf("%08x", cfg.SSRC)),
		clock:       cfg.Clock,
		systemClock: cfg.Clock == SystemClock(),
		tx:          tx,
		rx:          rx,
		events:      make(chan Event, cfg.EventQueue),
		samples:     cfg.Codec.ClockRate() * int(ptime/time.Millisecond) / 1000,
		codecPT:     cfg.Codec.PayloadType(),
		clockRate:   int64(cfg.Codec.ClockRate()),
		remote:      addrPort(cfg.Remote),
		jb:          jitter.New(jitterConfig(cfg)),
		plc:         jitter.NewConcealer(cfg.Codec.ClockRate()),
		dtmfRx:      codec.NewDTMFReceiver(),
		rng:         cfg.Rand,
		seq:         cfg.InitialSeq,
		ts:          cfg.InitialTimestamp,
		marker:      true,
		initialRTCP: true,
		avgRTCPSize: 100,
		remoteSSRC:  cfg.RemoteSSRC,
		haveSSRC:    cfg.RemoteSSRC != 0,
	}
	initial := s.remote // sendTo never points into fields that mu guards
	s.sendTo.Store(&initial)
	if cfg.RemoteRTCP != nil {
		s.remoteRTCP = addrPort(cfg.RemoteRTCP)
	} else {
		s.remoteRTCP = netip.AddrPortFrom(s.remote.Addr(), s.remote.Port()+1)
	}
	s.pcm = make([]int16, s.samples)
	s.pcmOut = make([]int16, 0, s.samples*2)
	s.payload = make([]byte, 0, maxDatagram)
	s.plain = make([]byte, maxDatagram)
	s.wire = make([]byte, maxDatagram)
	s.st.SSRC = cfg.SSRC
	if cfg.PayloadTypes.TelephoneEvent != 0 {
		s.dtmfTx = codec.NewDTMFSender(cfg.Codec.ClockRate())
	}
	if err := s.openConns(); err != nil {
		return nil, err
	}
	return s, nil
}

func jitterConfig(cfg Config) jitter.Config {
	j := cfg.Jitter
	if j.ClockRate == 0 {
		j.ClockRate = cfg.Codec.ClockRate()
	}
	if j.FrameDuration == 0 {
		j.FrameDuration = ptime
	}
	return j
}

func addrPort(a *net.UDPAddr) netip.AddrPort {
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (s *Stream) openConns() error {
	s.rtpConn, s.rtcpConn = s.cfg.Conn, s.cfg.RTCPConn
	if s.rtpConn == nil {
		local := s.cfg.Local
		if local == nil {
			local = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		}
		c, err := net.ListenUDP("udp", local)
		if err != nil {
			return fmt.Errorf("media: listen RTP on %v: %w", local, err)
		}
		s.rtpConn = c
	}
	if !s.cfg.RTCPMux && s.rtcpConn == nil {
		la := s.rtpConn.LocalAddr().(*net.UDPAddr)
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: la.IP, Port: la.Port + 1})
		if err != nil {
			s.rtpConn.Close()
			return fmt.Errorf("media: listen RTCP on port %d: %w", la.Port+1, err)
		}
		s.rtcpConn = c
	}
	return nil
}

// LocalAddr is the RTP socket's address.
func (s *Stream) LocalAddr() net.Addr { return s.rtpConn.LocalAddr() }

// LocalRTCPAddr is the RTCP socket's address (the RTP one with RTCP-mux).
func (s *Stream) LocalRTCPAddr() net.Addr {
	if s.rtcpConn == nil {
		return s.rtpConn.LocalAddr()
	}
	return s.rtcpConn.LocalAddr()
}

// Events delivers DTMF, authenticated BYE and latching events. It is closed by Stop.
func (s *Stream) Events() <-chan Event { return s.events }

// Start begins sending and receiving. The stream runs until ctx ends or Stop is called.
func (s *Stream) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.stopped {
		s.mu.Unlock()
		return errors.New("media: stream already started or stopped")
	}
	s.started = true
	now := s.clock.Now()
	s.t0 = now
	s.nextRTCP = now.Add(s.rtcpIntervalLocked())
	ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Unlock()

	var readers sync.WaitGroup
	readers.Add(1)
	go s.readLoop(&readers, s.rtpConn, false)
	if s.rtcpConn != nil && !s.cfg.RTCPMux {
		readers.Add(1)
		go s.readLoop(&readers, s.rtcpConn, true)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.tickLoop(ctx, now)
		// The final report and BYE go out before the sockets close (RFC 3550 §6.6).
		s.finish()
		readers.Wait()
		close(s.events)
	}()
	return nil
}

// Stop ends the stream: it sends a final RTCP compound with BYE (RFC 3550 §6.6), closes the
// sockets and the Events channel, and returns once every goroutine has ended.
func (s *Stream) Stop() {
	s.mu.Lock()
	started, cancel := s.started, s.cancel
	s.mu.Unlock()
	if !started {
		s.finish()
		return
	}
	cancel()
	s.wg.Wait()
}

// finish runs once, after the tick loop has ended (or instead of it, for a stream never
// started).
func (s *Stream) finish() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	started := s.started
	s.mu.Unlock()
	if started {
		if err := s.sendRTCP(s.clock.Now(), true); err != nil {
			s.log.Debug("RTCP BYE not sent", "err", err)
		}
	}
	s.rtpConn.Close()
	if s.rtcpConn != nil {
		s.rtcpConn.Close()
	}
	if s.cfg.Sink != nil {
		s.cfg.Sink.Close()
	}
	if !started {
		close(s.events)
	}
}

func (s *Stream) readLoop(wg *sync.WaitGroup, conn net.PacketConn, rtcpPort bool) {
	defer wg.Done()
	buf := make([]byte, maxDatagram)
	udp, _ := conn.(*net.UDPConn)
	for {
		var (
			n    int
			from netip.AddrPort
			err  error
		)
		if udp != nil {
			n, from, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			var a net.Addr
			n, a, err = conn.ReadFrom(buf)
			if ua, ok := a.(*net.UDPAddr); ok {
				from = addrPort(ua)
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Debug("read", "err", err)
			return
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.handle(buf[:n], from, rtcpPort, s.arrival(rtcpPort || (s.cfg.RTCPMux && isRTCP(buf[:n]))))
	}
}

// arrival reads the clock for a datagram just read. An RTP packet needs only the monotonic
// reading (its arrival and playout times are differences), which time.Since takes with one clock
// read where time.Now takes two (on this machine 36 against 55 ns, per packet); RTCP also needs
// the wall clock, for the NTP arrival time of RTT (RFC 3550 §6.4.1).
func (s *Stream) arrival(rtcp bool) time.Time {
	if s.systemClock && !rtcp {
		return s.t0.Add(time.Since(s.t0))
	}
	return s.clock.Now()
}

// isRTCP demultiplexes RTP and RTCP on one port (RFC 5761 §4): RTCP packet types 192..223
// occupy octet 1, where they would be RTP payload types 64..95 with the marker set.
func isRTCP(b []byte) bool { return len(b) > 1 && b[1] >= 192 && b[1] <= 223 }

// handle is the input path for one datagram from the network, whatever it holds.
func (s *Stream) handle(b []byte, from netip.AddrPort, rtcpPort bool, now time.Time) {
	if len(b) < 2 || b[0]>>6 != 2 {
		s.count(&s.st.Malformed)
		return
	}
	if rtcpPort || (s.cfg.RTCPMux && isRTCP(b)) {
		s.handleRTCP(b, from, now)
		return
	}
	s.handleRTP(b, from, now)
}

func (s *Stream) count(c *uint64) {
	s.mu.Lock()
	*c++
	s.mu.Unlock()
}

// admitSourceLocked applies the latch: once the peer is known, packets from other addresses or
// SSRCs are dropped before they reach the SRTP context.
func (s *Stream) admitSourceLocked(from netip.AddrPort, ssrc uint32, rtcpPkt bool) bool {
	latched, addr := s.latched, s.remote
	if rtcpPkt && !s.cfg.RTCPMux {
		latched, addr = s.latchedRTCP, s.remoteRTCP
	}
	if latched && from != addr {
		s.st.Foreign++
		return false
	}
	// After ReplaceKeys a new SSRC may come with the new key: it is let through to be
	// authenticated, and handleRTP takes it as a new source only under the current context.
	if s.haveSSRC && ssrc != s.remoteSSRC && (s.rx.prev == nil || s.rx.curSeen) {
		s.st.Foreign++
		return false
	}
	return true
}

// seqJump is RFC 3550 A.1's "very large jump" relative to the highest sequence number seen.
func (s *rxStats) seqJump(seq uint16) bool {
	udelta := seq - s.maxSeq
	return s.started && udelta >= maxDropout && uint32(udelta) <= seqMod-maxMisorder
}

func (s *Stream) handleRTP(b []byte, from netip.AddrPort, now time.Time) {
	if len(b) < 12 {
		s.count(&s.st.Malformed)
		return
	}
	ssrc := binary.BigEndian.Uint32(b[8:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.admitSourceLocked(from, ssrc, false) {
		return
	}
	var (
		pkt      []byte
		hdr      *rtp.Header
		fromPrev bool
		err      error
	)
	if s.rx.prev == nil {
		// Outside a ReplaceKeys window, without rxCrypto.open's trial logic.
		pkt, hdr, err = s.rx.unprotectRTP(b)
	} else {
		pkt, hdr, fromPrev, err = s.rx.open(b)
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrReplay):
			s.st.SRTPReplayDrops++
		case errors.Is(err, ErrAuth):
			s.st.SRTPAuthFailures++
		default:
			s.st.Malformed++
		}
		return
	}
	payload := pkt[hdr.MarshalSize():]
	if hdr.Padding {
		if len(payload) == 0 || int(payload[len(payload)-1]) > len(payload) {
			s.st.Malformed++
			return
		}
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	if s.rx.prev != nil {
		switch {
		case fromPrev && s.haveSSRC && ssrc != s.remoteSSRC:
			// The old key from a source other than the one we follow.
			s.st.Foreign++
			return
		case s.rx.authenticated(fromPrev, now) && s.haveSSRC && (ssrc != s.remoteSSRC || s.rxs.seqJump(hdr.SequenceNumber)):
			s.newSourceLocked(ssrc)
		}
	}
	if !fromPrev && !(s.latched && s.haveSSRC) {
		// Once address and SSRC are fixed there is nothing to latch (see latchLocked).
		s.latchLocked(from, ssrc, false)
	}
	switch hdr.PayloadType {
	case s.codecPT:
		arrival := int64(now.Sub(s.t0)) * s.clockRate / int64(time.Second)
		if s.rxs.update(hdr.SequenceNumber, hdr.Timestamp, arrival, true) {
			s.st.PacketsReceived++
			s.st.OctetsReceived += uint64(len(payload))
			s.jb.Push(hdr.SequenceNumber, hdr.Timestamp, now, payload)
		}
	case s.cfg.PayloadTypes.TelephoneEvent:
		if s.cfg.PayloadTypes.TelephoneEvent == 0 {
			s.st.UnknownPayload++
			break
		}
		// All packets of one event carry its start timestamp (RFC 4733 §2.5.1.1), so they
		// count for loss but not for the A.8 jitter estimate.
		if s.rxs.update(hdr.SequenceNumber, hdr.Timestamp, 0, false) {
			s.st.PacketsReceived++
			s.st.OctetsReceived += uint64(len(payload))
		}
		if e, err := codec.ParseEvent(payload); err == nil {
			if digit, ok := s.dtmfRx.Receive(hdr.Timestamp, e); ok {
				s.emitLocked(Event{Kind: EventDTMF, Digit: digit, SSRC: ssrc})
			}
		} else {
			s.st.Malformed++
		}
	default:
		s.st.UnknownPayload++
	}
}

// latchLocked fixes the peer's address and SSRC on the first authenticated packet (symmetric
// RTP, RFC 4961 §3; with SRTP only an authentic packet may move where we send).
func (s *Stream) latchLocked(from netip.AddrPort, ssrc uint32, rtcpPkt bool) {
	if !s.haveSSRC {
		s.remoteSSRC, s.haveSSRC = ssrc, true
	}
	s.st.RemoteSSRC = s.remoteSSRC
	if rtcpPkt && !s.cfg.RTCPMux {
		if !s.latchedRTCP && from.IsValid() {
			s.remoteRTCP, s.latchedRTCP = from, true
		}
		return
	}
	if !s.latched && from.IsValid() {
		s.remote, s.latched = from, true
		latched := from // a heap copy only on this branch, not per packet
		s.sendTo.Store(&latched)
		if s.cfg.RTCPMux {
			s.remoteRTCP = from
		}
		s.emitLocked(Event{Kind: EventLatched, Addr: from, SSRC: ssrc})
	}
}

func (s *Stream) emitLocked(e Event) {
	if s.stopped {
		return
	}
	select {
	case s.events <- e:
	default:
		s.st.EventsDropped++
	}
}

func (s *Stream) handleRTCP(b []byte, from netip.AddrPort, now time.Time) {
	if len(b) < 8 {
		s.count(&s.st.Malformed)
		return
	}
	ssrc := binary.BigEndian.Uint32(b[4:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.admitSourceLocked(from, ssrc, true) {
		return
	}
	plain, fromPrev, err := s.rx.openRTCP(b)
	if err != nil {
		switch {
		case errors.Is(err, ErrReplay):
			s.st.SRTCPReplayDrops++
		case errors.Is(err, ErrAuth):
			s.st.SRTCPAuthFailures++
		default:
			s.st.Malformed++
		}
		return
	}
	// Only now, authenticated (RFC 3711 §3.4), is the compound packet parsed and acted on.
	pkts, err := rtcp.Unmarshal(plain)
	if err != nil {
		s.st.Malformed++
		return
	}
	if s.haveSSRC && ssrc != s.remoteSSRC {
		// Let through by a pending key change, but not (yet) the source we follow.
		s.st.Foreign++
		return
	}
	arrival := ntpShort(toNTP(now))
	if !fromPrev {
		s.latchLocked(from, ssrc, true)
	}
	s.st.RTCPReceived++
	s.avgRTCPSize = (float64(len(b))+udpIPOverhead)/16 + s.avgRTCPSize*15/16
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if p.SSRC == s.remoteSSRC {
				s.lsr, s.lsrAt = ntpShort(p.NTPTime), now
			}
			s.reportBlocksLocked(p.Reports, arrival)
		case *rtcp.ReceiverReport:
			s.reportBlocksLocked(p.Reports, arrival)
		case *rtcp.Goodbye:
			for _, src := range p.Sources {
				if src == s.remoteSSRC {
					s.emitLocked(Event{Kind: EventBye, SSRC: src, Reason: p.Reason})
					break
				}
			}
		}
	}
}

func (s *Stream) reportBlocksLocked(blocks []rtcp.ReceptionReport, arrival uint32) {
	for _, rb := range blocks {
		if rb.SSRC != s.cfg.SSRC {
			continue
		}
		s.st.RemoteFractionLost = float64(rb.FractionLost) / 256
		lost := int64(rb.TotalLost)
		if lost&0x800000 != 0 {
			lost -= 1 << 24
		}
		s.st.RemotePacketsLost = lost
		s.st.RemoteJitter = time.Duration(float64(rb.Jitter) / float64(s.cfg.Codec.ClockRate()) * float64(time.Second))
		if rtt, ok := roundTrip(arrival, rb.LastSenderReport, rb.Delay); ok {
			s.st.RTT, s.st.RTTValid = rtt, true
		}
	}
}
