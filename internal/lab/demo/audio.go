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
// correlates above 0.95 with what was sent, window by window.
const (
	minToneSNR       = 20.0
	maxOtherToneSNR  = 0.0
	minCorrelation   = 0.8
	toneBlock        = 1600 // 200 ms
	settleSamples    = 6400 // 800 ms: the jitter buffer's start, left out
	correlationLen   = 4000 // windows of 500 ms of the WAV are compared
	maxWindows       = 8    // spread over the whole WAV sent
	maxDelaySamples  = 4000 // searched up to 500 ms of delay, either way
	correlationStart = 2400 // from 300 ms into what was sent
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

// correlate compares what arrived with what was sent, window by window: for each of up to
// maxWindows windows of 500 ms of sent (those with at least 1 % of the loudest window's energy)
// it finds the delay within ±maxDelaySamples where the normalised cross-correlation with
// received is highest, and returns the median of those best correlations and the delay of the
// first window. Windows, not one alignment, because the delay is not constant: a jitter buffer
// that drops or conceals a 20 ms frame shifts everything after it. ok is false when no window
// fits.
func correlate(sent, received []int16) (corr float64, delay int, ok bool) {
	type win struct {
		at     int
		energy float64
	}
	var wins []win
	maxE := 0.0
	for at := correlationStart; at+correlationLen <= len(sent); at += correlationLen {
		var e float64
		for _, v := range sent[at : at+correlationLen] {
			e += float64(v) * float64(v)
		}
		wins = append(wins, win{at, e})
		maxE = max(maxE, e)
	}
	if maxE == 0 {
		return 0, 0, false
	}
	step := max(1, (len(wins)+maxWindows-1)/maxWindows)
	var bests []float64
	for i := 0; i < len(wins); i += step {
		w := wins[i]
		if w.energy < maxE/100 {
			continue
		}
		ref := sent[w.at : w.at+correlationLen]
		best, bestD, found := math.Inf(-1), 0, false
		for d := -maxDelaySamples; d <= maxDelaySamples; d++ {
			at := w.at + d
			if at < 0 {
				continue
			}
			if at+correlationLen > len(received) {
				break
			}
			var dot, e float64
			for j, v := range ref {
				x := float64(received[at+j])
				dot += float64(v) * x
				e += x * x
			}
			if e == 0 {
				continue
			}
			if c := dot / math.Sqrt(w.energy*e); c > best {
				best, bestD, found = c, d, true
			}
		}
		if !found {
			continue
		}
		if len(bests) == 0 {
			delay = bestD
		}
		bests = append(bests, best)
	}
	if len(bests) == 0 {
		return 0, 0, false
	}
	slices.Sort(bests)
	return bests[len(bests)/2], delay, true
}
