package demo

import (
	"math"
	"slices"
	"sync"

	"github.com/imsphone/imsphone/media/audio"
)

const sampleRate = 8000

// Match thresholds. A tone through G.711 measures 34-39 dB on a 200 ms block; a wrong key or a
// crossed stream gives no block above 0 dB, so 20 dB leaves room for a loaded machine's
// concealed frames without letting garbage through. A WAV through G.711 and the jitter buffer
// correlates above 0.95 with what was sent.
const (
	minToneSNR       = 20.0
	maxOtherToneSNR  = 0.0
	minCorrelation   = 0.8
	toneBlock        = 1600 // 200 ms
	settleSamples    = 6400 // 800 ms: the jitter buffer's start, left out
	correlationLen   = 8000 // 1 s of the WAV is compared
	maxDelaySamples  = 8000 // searched up to 1 s of delay
	correlationStart = 2400 // 300 ms into what was sent
)

// recorder keeps PCM; media writes from its own goroutine.
type recorder struct {
	mu  sync.Mutex
	pcm []int16
}

func (r *recorder) Write(p []int16) error {
	r.mu.Lock()
	r.pcm = append(r.pcm, p...)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pcm)
}

func (r *recorder) samples() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pcm)
}

// tee is a Source that records what it gives (the WAV sent, for the correlation).
type tee struct {
	src audio.Source
	rec *recorder
}

func (t tee) Read(pcm []int16) (int, error) {
	n, err := t.src.Read(pcm)
	t.rec.Write(pcm[:n])
	return n, err
}

// toneSNR measures freq and other in pcm on 200 ms blocks after the settling time and returns
// freq's SNR at the upper quartile of the blocks and other's median; ok is false when fewer than
// two blocks are there.
func toneSNR(pcm []int16, freq, other float64) (snr, otherSNR float64, ok bool) {
	skip := min(settleSamples, len(pcm)/3)
	pcm = pcm[skip:]
	var s, o []float64
	for off := 0; off+toneBlock <= len(pcm); off += toneBlock {
		s = append(s, audio.DetectTone(pcm[off:off+toneBlock], sampleRate, freq))
		o = append(o, audio.DetectTone(pcm[off:off+toneBlock], sampleRate, other))
	}
	if len(s) < 2 {
		return -audio.MaxSNR, audio.MaxSNR, false
	}
	slices.Sort(s)
	slices.Sort(o)
	return s[len(s)*3/4], o[len(o)/2], true
}

// correlate finds where a second of sent appears in received: the normalised cross-correlation
// of sent[correlationStart:+correlationLen] with received at each delay up to maxDelaySamples,
// and the best one. ok is false when either side is too short or the sent part is silent.
func correlate(sent, received []int16) (best float64, delay int, ok bool) {
	if len(sent) < correlationStart+correlationLen {
		return 0, 0, false
	}
	ref := sent[correlationStart : correlationStart+correlationLen]
	var refE float64
	for _, v := range ref {
		refE += float64(v) * float64(v)
	}
	if refE == 0 {
		return 0, 0, false
	}
	best = math.Inf(-1)
	for d := 0; d <= maxDelaySamples; d++ {
		at := correlationStart + d
		if at+correlationLen > len(received) {
			break
		}
		var dot, e float64
		for i, v := range ref {
			x := float64(received[at+i])
			dot += float64(v) * x
			e += x * x
		}
		if e == 0 {
			continue
		}
		if c := dot / math.Sqrt(refE*e); c > best {
			best, delay, ok = c, d, true
		}
	}
	return best, delay, ok
}
