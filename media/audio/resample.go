package audio

import (
	"fmt"
	"math"
)

// Resampler design constants. With 32 zero crossings of the sinc on each side (counted at the
// lower of the two rates) and a Blackman window, the transition band is about 0.085 of the lower
// rate wide and the stopband is below -74 dB; the cutoff at 0.9 of the lower Nyquist frequency
// puts the band edges at about 0.41 and 0.49 of the lower rate: for 48 kHz to 8 kHz, flat to
// ~3.3 kHz and -74 dB from ~3.95 kHz on (measured figures are in resample_test.go).
const (
	resampleZeroCrossings = 32
	resampleCutoff        = 0.9
	// maxResamplePhases bounds the filter bank. A ratio that needs more distinct output phases
	// (e.g. 8001 Hz to 8000 Hz: 8000 of them) rounds each output instant to the nearest of
	// maxResamplePhases phases: a timing error of at most 1/8192 of an input sample, which for
	// a 4 kHz tone at 8 kHz is phase noise about 70 dB down.
	maxResamplePhases = 4096
)

// Resampler converts mono 16-bit PCM from one sample rate to another with a polyphase
// windowed-sinc filter: each output sample is the input convolved with a Blackman-windowed
// sinc low-pass whose cutoff sits below the lower rate's Nyquist frequency, evaluated at the
// output instant. The filter bank holds one set of taps per distinct output phase
// (outRate/gcd of them), each normalised to unity gain at DC. The output is aligned with the
// input (no delay): output sample n is the input at time n/outRate.
type Resampler struct {
	inRate, outRate int
	l, m            int64 // outRate/g, inRate/g
	phases          int64 // filter bank phases: l, or maxResamplePhases when l is larger
	k               int   // taps on each side of the output instant
	bank            []float64
	buf             []float64 // input samples from index base on
	base            int64
	i, p            int64 // next output's input index floor(n·M/L) and phase (n·M) mod L
	nIn, nOut       int64
}

// NewResampler returns a converter from inRate to outRate, both in 1..384000 Hz.
func NewResampler(inRate, outRate int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate > 384000 || outRate > 384000 {
		return nil, fmt.Errorf("audio: resample %d Hz to %d Hz: rates must be 1..384000", inRate, outRate)
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, l: int64(outRate / g), m: int64(inRate / g)}
	r.phases = min(r.l, maxResamplePhases)
	if r.l == r.m {
		return r, nil
	}
	// Cutoff in cycles per input sample; the filter must stop at the lower Nyquist frequency.
	fc := 0.5 * resampleCutoff * math.Min(1, float64(r.l)/float64(r.m))
	r.k = int(math.Ceil(resampleZeroCrossings / (2 * fc)))
	taps := 2 * r.k
	r.bank = make([]float64, int(r.phases)*taps)
	for p := 0; p < int(r.phases); p++ {
		h := r.bank[p*taps : (p+1)*taps]
		var sum float64
		for j := range h {
			// Tap j weighs input index i+d with d = j-k+1; τ is the output instant minus it.
			tau := float64(p)/float64(r.phases) - float64(j-r.k+1)
			x := tau / float64(r.k)
			if math.Abs(x) >= 1 {
				continue
			}
			w := 0.42 + 0.5*math.Cos(math.Pi*x) + 0.08*math.Cos(2*math.Pi*x)
			h[j] = 2 * fc * sinc(2*fc*tau) * w
			sum += h[j]
		}
		for j := range h {
			h[j] /= sum
		}
	}
	// Inputs before the first sample are zero.
	r.buf = make([]float64, r.k-1, 4*taps)
	r.base = -int64(r.k - 1)
	return r, nil
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Process appends to dst the output samples that in completes (the filter needs k+1 input
// samples beyond an output instant, so output trails input by that much until Flush).
func (r *Resampler) Process(dst []int16, in []int16) []int16 {
	r.nIn += int64(len(in))
	if r.bank == nil {
		r.nOut += int64(len(in))
		return append(dst, in...)
	}
	for _, v := range in {
		r.buf = append(r.buf, float64(v))
	}
	return r.run(dst, -1)
}

// Flush appends the remaining output, treating the input after its end as silence, so the
// whole output has len(input)·outRate/inRate samples (rounded up).
func (r *Resampler) Flush(dst []int16) []int16 {
	if r.bank == nil {
		return dst
	}
	for range r.k + 1 {
		r.buf = append(r.buf, 0)
	}
	want := (r.nIn*r.l + r.m - 1) / r.m
	return r.run(dst, want)
}

func (r *Resampler) run(dst []int16, limit int64) []int16 {
	taps := 2 * r.k
	end := r.base + int64(len(r.buf))
	for r.i+int64(r.k)+1 <= end-1 && (limit < 0 || r.nOut < limit) {
		i, q := r.i, r.p
		if r.phases != r.l {
			// Nearest bank phase; rounding up to a whole phase period is input index i+1.
			q = (r.p*r.phases + r.l/2) / r.l
			if q == r.phases {
				i, q = i+1, 0
			}
		}
		h := r.bank[int(q)*taps : (int(q)+1)*taps]
		x := r.buf[i-int64(r.k)+1-r.base:]
		x = x[:len(h)]
		// Four partial sums break the add dependency chain.
		var a0, a1, a2, a3 float64
		j := 0
		for ; j+4 <= len(h); j += 4 {
			a0 += h[j] * x[j]
			a1 += h[j+1] * x[j+1]
			a2 += h[j+2] * x[j+2]
			a3 += h[j+3] * x[j+3]
		}
		for ; j < len(h); j++ {
			a0 += h[j] * x[j]
		}
		acc := (a0 + a1) + (a2 + a3)
		dst = append(dst, clamp16(acc))
		r.nOut++
		r.p += r.m
		r.i += r.p / r.l
		r.p %= r.l
	}
	// Drop input no future output needs, keeping the buffer's storage.
	if drop := r.i - int64(r.k) + 1 - r.base; drop > 0 && drop <= int64(len(r.buf)) {
		n := copy(r.buf, r.buf[drop:])
		r.buf = r.buf[:n]
		r.base += drop
	}
	return dst
}

func clamp16(v float64) int16 {
	v = math.Round(v)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// resampled is a Source that converts src from inRate to outRate.
type resampled struct {
	src  Source
	r    *Resampler
	in   []int16
	out  []int16
	pos  int
	err  error
	done bool
}

// Resample returns a Source giving src (at inRate) at outRate.
func Resample(src Source, inRate, outRate int) (Source, error) {
	r, err := NewResampler(inRate, outRate)
	if err != nil {
		return nil, err
	}
	if r.bank == nil {
		return src, nil
	}
	return &resampled{src: src, r: r, in: make([]int16, 1024)}, nil
}

func (s *resampled) Read(pcm []int16) (int, error) {
	n := 0
	for n < len(pcm) {
		if s.pos < len(s.out) {
			c := copy(pcm[n:], s.out[s.pos:])
			s.pos += c
			n += c
			continue
		}
		if s.done {
			return n, s.err
		}
		s.out, s.pos = s.out[:0], 0
		m, err := s.src.Read(s.in)
		s.out = s.r.Process(s.out, s.in[:m])
		if err != nil {
			s.out = s.r.Flush(s.out)
			s.done, s.err = true, err
		} else if m == 0 {
			return n, nil
		}
	}
	return n, nil
}
