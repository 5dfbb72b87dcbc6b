package audio

import "math"

// ToneMeasure is the result of Measure: mean powers per sample in squared 16-bit units.
type ToneMeasure struct {
	// Tone is the power of the component at the probed frequency (A²/2 for a sine of
	// amplitude A).
	Tone float64
	// Total is the power of the whole windowed block.
	Total float64
	// SNRdB is 10·log10(Tone / (Total − Tone)), clamped to ±MaxSNR.
	SNRdB float64
}

// MaxSNR bounds DetectTone's result: a pure synthetic tone gives +MaxSNR, silence -MaxSNR.
const MaxSNR = 120.0

// Goertzel returns the power of the freq component of pcm (A²/2 for a sine of amplitude A at
// freq), measured on a Hann-windowed block.
func Goertzel(pcm []int16, sampleRate int, freq float64) float64 {
	return Measure(pcm, sampleRate, freq).Tone
}

// DetectTone returns the SNR in dB of the freq tone against everything else in pcm. A clean
// tone gives a high value, noise or another frequency a value well below 0. The ceiling for a
// pure tone is set by its negative-frequency image leaking through the window: about 50 dB on a
// 20 ms block at 8 kHz, more on longer blocks; G.711 quantisation noise alone leaves 37-39 dB.
func DetectTone(pcm []int16, sampleRate int, freq float64) float64 {
	return Measure(pcm, sampleRate, freq).SNRdB
}

// Measure runs the Goertzel recursion s[n] = x[n]·w[n] + 2cos(ω)s[n-1] − s[n-2] at
// ω = 2π·freq/sampleRate (not rounded to a DFT bin) over the Hann-windowed block. The window keeps
// leakage from other frequencies and from the tone's own negative-frequency image far below the
// tone, so a tone that is not a whole number of cycles in the block still measures cleanly.
// |X|² is scaled by the window's coherent gain (Σw)² for the tone's power and the windowed
// energy by Σw² for the total, so both are unbiased for a sine.
func Measure(pcm []int16, sampleRate int, freq float64) ToneMeasure {
	n := len(pcm)
	if n < 2 || sampleRate <= 0 || freq <= 0 || freq >= float64(sampleRate)/2 {
		return ToneMeasure{SNRdB: -MaxSNR}
	}
	w := 2 * math.Pi * freq / float64(sampleRate)
	coeff := 2 * math.Cos(w)
	var s1, s2, sumW, sumW2, energy float64
	dw := 2 * math.Pi / float64(n-1)
	for i, v := range pcm {
		win := 0.5 - 0.5*math.Cos(dw*float64(i))
		x := float64(v) * win
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
		sumW += win
		sumW2 += win * win
		energy += x * x
	}
	// |X(ω)|² from the last two states (the standard Goertzel magnitude).
	mag2 := s1*s1 + s2*s2 - coeff*s1*s2
	m := ToneMeasure{Tone: 2 * mag2 / (sumW * sumW), Total: energy / sumW2}
	noise := m.Total - m.Tone
	switch {
	case m.Tone <= 0:
		m.SNRdB = -MaxSNR
	case noise <= m.Tone*math.Pow(10, -MaxSNR/10):
		m.SNRdB = MaxSNR
	default:
		m.SNRdB = math.Max(-MaxSNR, math.Min(MaxSNR, 10*math.Log10(m.Tone/noise)))
	}
	return m
}
