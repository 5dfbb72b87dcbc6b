package media

import "github.com/pion/transport/v2/replaydetector"

// replayWindow is the replay list of RFC 3711 §3.3.2 for one SSRC in one receive Context: a
// sliding window of the last size indices behind the highest authenticated one, as a ring of
// bits indexed by index mod size. It decides exactly as pion's replaydetector.New (checked by
// TestReplayWindowMatchesPion) but does no work proportional to the window per packet and
// allocates nothing per packet: pion shifts a window-wide big integer for every new packet and
// returns a fresh closure from every Check.
//
// pion's contract is Check before authentication, then the returned accept only once the
// packet is authentic (srtp.Context.decryptRTP, decryptRTCP). The Context is used under the
// Stream's lock, so at most one Check is pending and accept can be one preallocated func that
// records the pending index.
type replayWindow struct {
	bits     [srtpReplayWindow / 64]uint64
	size     uint64 // a power of two, 64..srtpReplayWindow
	maxIndex uint64
	latest   uint64 // highest accepted index (0 before the first, as in pion)
	pending  uint64
	acceptFn func()
	hit      *bool // set when Check rejects, so the Stream can count replays apart from auth failures
}

func noAccept() {}

func newReplayWindow(size int, maxIndex uint64, hit *bool) *replayWindow {
	w := &replayWindow{size: uint64(size), maxIndex: maxIndex, hit: hit}
	w.acceptFn = w.accept
	return w
}

func (w *replayWindow) bit(i uint64) (word int, mask uint64) {
	i &= w.size - 1
	return int(i / 64), 1 << (i % 64)
}

// Check implements replaydetector.ReplayDetector.
func (w *replayWindow) Check(index uint64) (accept func(), ok bool) {
	if index > w.maxIndex {
		*w.hit = true
		return noAccept, false
	}
	if index <= w.latest {
		if w.latest-index >= w.size {
			// Older than the window: cannot be told from a replay (§3.3.2).
			*w.hit = true
			return noAccept, false
		}
		if word, m := w.bit(index); w.bits[word]&m != 0 {
			*w.hit = true
			return noAccept, false
		}
	}
	w.pending = index
	return w.acceptFn, true
}

func (w *replayWindow) accept() {
	index := w.pending
	if index > w.latest {
		if index-w.latest >= w.size {
			clear(w.bits[:])
		} else {
			// The slots of the indices the window moves over now stand for new indices.
			for i := w.latest + 1; i < index; i++ {
				word, m := w.bit(i)
				w.bits[word] &^= m
			}
		}
		w.latest = index
	}
	word, m := w.bit(index)
	w.bits[word] |= m
}

var _ replaydetector.ReplayDetector = (*replayWindow)(nil)
