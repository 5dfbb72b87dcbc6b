package mediatest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Direction names one way through the relay.
type Direction int

const (
	// AtoB carries packets endpoint A sends towards endpoint B.
	AtoB Direction = iota
	// BtoA carries packets endpoint B sends towards endpoint A.
	BtoA
)

func (d Direction) String() string {
	if d == AtoB {
		return "A→B"
	}
	return "B→A"
}

// Impairments configures what the relay does to each packet. The fates Drop, Duplicate,
// Reorder and Flip are exclusive and drawn in that order from one uniform number per packet;
// Delay and Jitter apply to every forwarded copy.
type Impairments struct {
	Seed      uint64
	Drop      float64
	Duplicate float64
	Reorder   float64
	Flip      float64
	// Delay is a fixed extra one-way delay; Jitter adds a uniform random delay in [0, Jitter).
	Delay  time.Duration
	Jitter time.Duration
	// ReorderDelay holds a reordered packet back by this much (default 50 ms, i.e. behind the
	// next two 20 ms packets).
	ReorderDelay time.Duration
	// FlipOffset is the first byte a bit flip may hit (default 12: after the fixed RTP header,
	// so the flipped packet still parses and reaches authentication).
	FlipOffset int
	// ClockRate of the RTP stream for the relay's own jitter measurement (default 8000).
	ClockRate int
	// Only impair RTP; RTCP passes untouched (default false: RTCP is impaired too).
	SpareRTCP bool
	// Skip passes the first Skip packets of each direction untouched (so a receiver's first
	// packet, which fixes its base sequence number, is known).
	Skip int
}

// Fates counts what happened to the packets of one kind (RTP or RTCP).
type Fates struct {
	Packets, Dropped, Duplicated, Reordered, Flipped, Replayed int
}

// DirStats is what the relay did in one direction.
type DirStats struct {
	Received, Forwarded, Injected int
	RTP, RTCP                     Fates
	// LostSeq holds the RTP sequence numbers that never reached the peer intact (dropped or
	// flipped), in arrival order.
	LostSeq []uint16
	// Jitter is the RFC 3550 A.8 interarrival jitter of the RTP stream as the relay sent it
	// out, measured by the relay itself.
	Jitter time.Duration
}

type dirState struct {
	in, out *net.UDPConn
	peer    *net.UDPAddr
	stats   DirStats
	// A.8 state at the relay's output.
	haveTransit bool
	transit     int64
	jitter      float64
	history     [][]byte
}

// Relay forwards UDP datagrams between endpoint A and endpoint B.
type Relay struct {
	imp   Impairments
	start time.Time
	mu    sync.Mutex
	rng   *rand.Rand
	dirs  [2]*dirState
	wg    sync.WaitGroup
	timer sync.WaitGroup
	done  chan struct{}
	once  sync.Once
}

const historyLen = 256

// New starts a relay between the endpoints at a and b (both loopback). Endpoint A must send to
// AddrA and endpoint B to AddrB.
func New(a, b *net.UDPAddr, imp Impairments) (*Relay, error) {
	if imp.ReorderDelay == 0 {
		imp.ReorderDelay = 50 * time.Millisecond
	}
	if imp.FlipOffset == 0 {
		imp.FlipOffset = 12
	}
	if imp.ClockRate == 0 {
		imp.ClockRate = 8000
	}
	ca, err := net.ListenUDP("udp", &net.UDPAddr{IP: a.IP})
	if err != nil {
		return nil, fmt.Errorf("mediatest: relay socket for A: %w", err)
	}
	cb, err := net.ListenUDP("udp", &net.UDPAddr{IP: b.IP})
	if err != nil {
		ca.Close()
		return nil, fmt.Errorf("mediatest: relay socket for B: %w", err)
	}
	// Bursts from many streams must not overflow the relay's own queues.
	ca.SetReadBuffer(1 << 22)
	cb.SetReadBuffer(1 << 22)
	r := &Relay{
		imp:   imp,
		start: time.Now(),
		rng:   rand.New(rand.NewPCG(imp.Seed, imp.Seed^0x9e3779b97f4a7c15)),
		done:  make(chan struct{}),
	}
	r.dirs[AtoB] = &dirState{in: ca, out: cb, peer: b}
	r.dirs[BtoA] = &dirState{in: cb, out: ca, peer: a}
	for d := range r.dirs {
		r.wg.Add(1)
		go r.loop(Direction(d))
	}
	return r, nil
}

// SetImpairments changes the impairments from the next packet on (the random source and its
// position stay, so a run remains deterministic); pass the zero value to pass everything.
func (r *Relay) SetImpairments(imp Impairments) {
	r.mu.Lock()
	defer r.mu.Unlock()
	imp.Seed = r.imp.Seed
	if imp.ReorderDelay == 0 {
		imp.ReorderDelay = r.imp.ReorderDelay
	}
	if imp.FlipOffset == 0 {
		imp.FlipOffset = r.imp.FlipOffset
	}
	if imp.ClockRate == 0 {
		imp.ClockRate = r.imp.ClockRate
	}
	r.imp = imp
}

// AddrA is the address endpoint A sends to.
func (r *Relay) AddrA() *net.UDPAddr { return r.dirs[AtoB].in.LocalAddr().(*net.UDPAddr) }

// AddrB is the address endpoint B sends to.
func (r *Relay) AddrB() *net.UDPAddr { return r.dirs[BtoA].in.LocalAddr().(*net.UDPAddr) }

// Close stops the relay and waits for its goroutines and pending delayed packets.
func (r *Relay) Close() error {
	r.once.Do(func() {
		close(r.done)
		r.dirs[AtoB].in.Close()
		r.dirs[BtoA].in.Close()
	})
	r.wg.Wait()
	r.timer.Wait()
	return nil
}

// Stats returns a copy of what the relay did in direction d.
func (r *Relay) Stats(d Direction) DirStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.dirs[d].stats
	s.LostSeq = append([]uint16(nil), s.LostSeq...)
	s.Jitter = time.Duration(r.dirs[d].jitter / float64(r.imp.ClockRate) * float64(time.Second))
	return s
}

// isRTCP applies RFC 5761 §4: with RTP and RTCP on one port, an octet 1 in 192..223 (RTCP
// packet types 64..95 in RTP terms) marks RTCP.
func isRTCP(b []byte) bool { return len(b) > 1 && b[1] >= 192 && b[1] <= 223 }

func (r *Relay) loop(d Direction) {
	defer r.wg.Done()
	ds := r.dirs[d]
	buf := make([]byte, 2048)
	for {
		n, _, err := ds.in.ReadFromUDP(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		r.handle(d, pkt)
	}
}

func (r *Relay) handle(d Direction, pkt []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := r.dirs[d]
	ds.stats.Received++
	rtcp := isRTCP(pkt)
	fates := &ds.stats.RTP
	if rtcp {
		fates = &ds.stats.RTCP
	}
	fates.Packets++
	if (rtcp && r.imp.SpareRTCP) || ds.stats.Received <= r.imp.Skip {
		ds.remember(pkt)
		r.forwardLocked(d, pkt, r.delayLocked(), true)
		return
	}
	u := r.rng.Float64()
	seq, isRTP := uint16(0), !rtcp && len(pkt) >= 12
	if isRTP {
		seq = binary.BigEndian.Uint16(pkt[2:])
	}
	imp := r.imp
	switch {
	case u < imp.Drop:
		fates.Dropped++
		if isRTP {
			ds.stats.LostSeq = append(ds.stats.LostSeq, seq)
		}
	case u < imp.Drop+imp.Duplicate:
		fates.Duplicated++
		ds.remember(pkt)
		r.forwardLocked(d, pkt, r.delayLocked(), true)
		r.forwardLocked(d, pkt, r.delayLocked(), false)
	case u < imp.Drop+imp.Duplicate+imp.Reorder:
		fates.Reordered++
		ds.remember(pkt)
		r.forwardLocked(d, pkt, r.delayLocked()+imp.ReorderDelay, true)
	case u < imp.Drop+imp.Duplicate+imp.Reorder+imp.Flip && len(pkt) > imp.FlipOffset:
		f := append([]byte(nil), pkt...)
		bit := r.rng.IntN((len(f) - imp.FlipOffset) * 8)
		f[imp.FlipOffset+bit/8] ^= 1 << (bit % 8)
		fates.Flipped++
		if isRTP {
			ds.stats.LostSeq = append(ds.stats.LostSeq, seq)
		}
		r.forwardLocked(d, f, r.delayLocked(), false)
	default:
		ds.remember(pkt)
		r.forwardLocked(d, pkt, r.delayLocked(), true)
	}
}

// remember keeps packets forwarded intact for Replay.
func (ds *dirState) remember(pkt []byte) {
	ds.history = append(ds.history, pkt)
	if len(ds.history) > historyLen {
		ds.history = ds.history[1:]
	}
}

func (r *Relay) delayLocked() time.Duration {
	dl := r.imp.Delay
	if r.imp.Jitter > 0 {
		dl += time.Duration(r.rng.Int64N(int64(r.imp.Jitter)))
	}
	return dl
}

// forwardLocked sends pkt after delay; measure says whether it enters the relay's jitter
// figure (not for flipped packets or second copies, which an SRTP receiver drops).
func (r *Relay) forwardLocked(d Direction, pkt []byte, delay time.Duration, measure bool) {
	if delay <= 0 {
		r.sendLocked(d, pkt, measure)
		return
	}
	r.timer.Add(1)
	time.AfterFunc(delay, func() {
		defer r.timer.Done()
		r.mu.Lock()
		defer r.mu.Unlock()
		select {
		case <-r.done:
			return
		default:
		}
		r.sendLocked(d, pkt, measure)
	})
}

func (r *Relay) sendLocked(d Direction, pkt []byte, measure bool) {
	ds := r.dirs[d]
	if _, err := ds.out.WriteToUDP(pkt, ds.peer); err != nil {
		return
	}
	ds.stats.Forwarded++
	if !measure || isRTCP(pkt) || len(pkt) < 12 {
		return
	}
	// RFC 3550 A.8 at the relay's output, arrival in timestamp units.
	now := time.Since(r.start)
	arrival := int64(now) * int64(r.imp.ClockRate) / int64(time.Second)
	transit := arrival - int64(binary.BigEndian.Uint32(pkt[4:]))
	if ds.haveTransit {
		dd := transit - ds.transit
		if dd < 0 {
			dd = -dd
		}
		ds.jitter += (float64(dd) - ds.jitter) / 16
	}
	ds.transit, ds.haveTransit = transit, true
}

// Inject sends pkt to the endpoint at the far end of direction d, from the relay's socket (so
// it passes any source-address check), as a forger on the path would.
func (r *Relay) Inject(d Direction, pkt []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := r.dirs[d]
	if _, err := ds.out.WriteToUDP(pkt, ds.peer); err != nil {
		return fmt.Errorf("mediatest: inject %s: %w", d, err)
	}
	ds.stats.Injected++
	return nil
}

// Replay re-sends, unchanged, the last n packets the relay forwarded intact in direction d (as an
// attacker replaying captured traffic) and returns how many it sent.
func (r *Relay) Replay(d Direction, n int) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := r.dirs[d]
	if n > len(ds.history) {
		n = len(ds.history)
	}
	if n == 0 {
		return 0, errors.New("mediatest: nothing captured to replay")
	}
	for _, p := range ds.history[len(ds.history)-n:] {
		if _, err := ds.out.WriteToUDP(p, ds.peer); err != nil {
			return 0, fmt.Errorf("mediatest: replay %s: %w", d, err)
		}
		if isRTCP(p) {
			ds.stats.RTCP.Replayed++
		} else {
			ds.stats.RTP.Replayed++
		}
	}
	return n, nil
}

// History returns copies of the last n packets the relay forwarded intact in direction d.
func (r *Relay) History(d Direction, n int) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.dirs[d].history
	if n > len(h) {
		n = len(h)
	}
	out := make([][]byte, 0, n)
	for _, p := range h[len(h)-n:] {
		out = append(out, append([]byte(nil), p...))
	}
	return out
}
