package audio

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func tone(freq, amp float64, rate, n int) []int16 {
	pcm := make([]int16, n)
	ReadFull(Tone(freq, amp, rate), pcm)
	return pcm
}

// noise returns n samples of uniform noise in [-a, a] (power a²/3) from a fixed seed.
func noise(a float64, n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = (2*r.Float64() - 1) * a
	}
	return out
}

// The Goertzel recursion must equal a directly computed DFT term of the Hann-windowed block
// (second, independent computation with math/cmplx).
func TestGoertzelMatchesDFT(t *testing.T) {
	for _, tc := range []struct {
		freq float64
		rate int
		n    int
	}{{1000, 8000, 160}, {440, 8000, 1000}, {3400, 16000, 320}, {697, 8000, 205}} {
		pcm := tone(tc.freq, 0.3, tc.rate, tc.n)
		for i := range pcm {
			pcm[i] += int16(i%7 - 3)
		}
		var x complex128
		var sumW float64
		w := 2 * math.Pi * tc.freq / float64(tc.rate)
		for i, v := range pcm {
			win := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(tc.n-1))
			sumW += win
			x += complex(float64(v)*win, 0) * cmplx.Exp(complex(0, -w*float64(i)))
		}
		want := 2 * real(x*cmplx.Conj(x)) / (sumW * sumW)
		got := Goertzel(pcm, tc.rate, tc.freq)
		if math.Abs(got-want) > 1e-6*want {
			t.Errorf("%v Hz: Goertzel %g, DFT %g", tc.freq, got, want)
		}
	}
}

func TestDetectTonePure(t *testing.T) {
	// The floor of a pure tone's SNR is the leakage of the tone's negative-frequency image
	// through the Hann window, which falls with the block length: ~50 dB for 20 ms at 8 kHz.
	for _, tc := range []struct {
		freq   float64
		rate   int
		n      int
		minSNR float64
	}{{1000, 8000, 160, 48}, {440, 8000, 8000, 80}, {1004, 8000, 160, 48}, {3000, 48000, 960, 60}, {6000, 16000, 320, 48}} {
		amp := 0.5
		pcm := tone(tc.freq, amp, tc.rate, tc.n)
		m := Measure(pcm, tc.rate, tc.freq)
		if m.SNRdB < tc.minSNR {
			t.Errorf("%v Hz/%d: SNR %.1f dB, want > %v", tc.freq, tc.rate, m.SNRdB, tc.minSNR)
		}
		a := amp * 32767
		if want := a * a / 2; math.Abs(m.Tone-want) > 0.01*want {
			t.Errorf("%v Hz: tone power %g, want %g (A²/2)", tc.freq, m.Tone, want)
		}
		// Another frequency is not detected.
		if snr := DetectTone(pcm, tc.rate, tc.freq+300); snr > -30 {
			t.Errorf("%v Hz probed at +300 Hz: SNR %.1f dB", tc.freq, snr)
		}
	}
}

func TestDetectToneNoise(t *testing.T) {
	nz := noise(8000, 800, 7)
	pcm := make([]int16, len(nz))
	for i, v := range nz {
		pcm[i] = int16(v)
	}
	// A Hann-windowed DFT term catches ~3/N of white noise power: about -24 dB at N=800.
	if snr := DetectTone(pcm, 8000, 1000); snr > -15 {
		t.Errorf("noise: SNR %.1f dB at 1000 Hz", snr)
	}
	if snr := DetectTone(make([]int16, 160), 8000, 1000); snr != -MaxSNR {
		t.Errorf("silence: SNR %v", snr)
	}
	if snr := DetectTone(pcm, 8000, 4000); snr != -MaxSNR {
		t.Errorf("Nyquist probe: SNR %v", snr)
	}
}

// A tone in noise measures its true SNR: tone power A²/2 against uniform noise power a²/3.
func TestDetectToneInNoise(t *testing.T) {
	for _, wantDB := range []float64{20, 10, 0, -5} {
		const amp = 8000.0
		tonePow := amp * amp / 2
		a := math.Sqrt(3 * tonePow / math.Pow(10, wantDB/10))
		nz := noise(a, 8000, uint64(wantDB+100))
		pcm := make([]int16, len(nz))
		for i := range pcm {
			pcm[i] = int16(math.Round(amp*math.Sin(2*math.Pi*1000*float64(i)/8000) + nz[i]))
		}
		got := DetectTone(pcm, 8000, 1000)
		if math.Abs(got-wantDB) > 1 {
			t.Errorf("tone at %v dB SNR measured %.2f dB", wantDB, got)
		}
	}
}

func BenchmarkDetectTone20ms(b *testing.B) {
	pcm := tone(1000, 0.5, 8000, 160)
	b.ReportAllocs()
	for b.Loop() {
		DetectTone(pcm, 8000, 1000)
	}
}
