package jitter

import "math"

// Concealer is a simple packet loss concealment for G.711 (or any narrowband PCM) frames, after
// the idea of ITU-T G.711 Appendix I: a lost frame is filled by repeating the last pitch period
// of the signal before it, at full level for the first 10 ms, then fading by 20% per 10 ms, so
// that after 60 ms of consecutive loss it is silent. The pitch period is the lag of the highest
// normalised autocorrelation between 2.5 and 15 ms (the voice pitch range Appendix I searches).
// Unlike Appendix I it does not overlap-add at the joins or smooth the first good frame after a
// loss; the joins of whole periods keep clicks small. Its state is a few frames of history.
type Concealer struct {
	rate    int
	hist    []int16 // the last histLen samples played
	period  int
	pos     int // read position within the repeated period
	lostRun int // samples concealed in the current loss
}

// NewConcealer returns a Concealer for PCM at sampleRate Hz (8000 for G.711).
func NewConcealer(sampleRate int) *Concealer {
	if sampleRate <= 0 {
		sampleRate = 8000
	}
	// 2 × the longest pitch period so the autocorrelation has a full comparison window.
	return &Concealer{rate: sampleRate, hist: make([]int16, 0, 2*sampleRate*15/1000+1)}
}

// Good records a correctly received, decoded frame.
func (c *Concealer) Good(pcm []int16) {
	c.lostRun = 0
	c.period = 0
	h := c.hist
	if len(pcm) >= cap(h) {
		h = append(h[:0], pcm[len(pcm)-cap(h):]...)
	} else {
		drop := max(0, len(h)+len(pcm)-cap(h))
		h = append(h[:copy(h, h[drop:])], pcm...)
	}
	c.hist = h
}

// Conceal appends n samples of concealment for a Missing frame to dst.
func (c *Concealer) Conceal(dst []int16, n int) []int16 {
	if c.period == 0 {
		c.period = c.pitch()
		c.pos = 0
	}
	full := c.rate / 100 // 10 ms
	for i := 0; i < n; i++ {
		var v int16
		if c.period > 0 {
			g := 1.0
			if c.lostRun > full {
				g = max(0, 1-0.2*float64(c.lostRun-full)/float64(full))
			}
			src := c.hist[len(c.hist)-c.period+c.pos]
			v = int16(float64(src) * g)
			c.pos++
			if c.pos == c.period {
				c.pos = 0
			}
		}
		dst = append(dst, v)
		c.lostRun++
	}
	return dst
}

// pitch finds the repetition period of the history, or 0 (silence) without enough of it.
func (c *Concealer) pitch() int {
	lo, hi := c.rate*25/10000, c.rate*15/1000
	h := c.hist
	if len(h) < 2*lo {
		return 0
	}
	hi = min(hi, len(h)/2)
	best, bestLag := -2.0, hi
	for lag := lo; lag <= hi; lag++ {
		// Correlate the last lag samples with the lag samples before them.
		a := h[len(h)-lag:]
		b := h[len(h)-2*lag : len(h)-lag]
		var ab, aa, bb float64
		for i := range a {
			x, y := float64(a[i]), float64(b[i])
			ab += x * y
			aa += x * x
			bb += y * y
		}
		if aa == 0 || bb == 0 {
			continue
		}
		if r := ab / math.Sqrt(aa*bb); r > best {
			best, bestLag = r, lag
		}
	}
	return bestLag
}
