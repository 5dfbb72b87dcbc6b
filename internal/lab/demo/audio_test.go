package demo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/imsphone/imsphone/media/audio"
)

func tone(freq float64, n int) []int16 {
	pcm := make([]int16, n)
	audio.ReadFull(audio.Tone(freq, 0.5, sampleRate), pcm)
	return pcm
}

func noise(seed uint64, n int) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(r.IntN(16000) - 8000)
	}
	return pcm
}

// toneSNR accepts the tone sent and refuses the other one, silence, noise and a too-short
// recording.
func TestToneSNR(t *testing.T) {
	snr, other, ok := toneSNR(tone(440, 24000), 440, 1000)
	if !ok || snr < 40 || other > -20 {
		t.Fatalf("440 Hz: %.1f dB, 1 kHz %.1f dB, ok %v", snr, other, ok)
	}
	for name, pcm := range map[string][]int16{"other tone": tone(1000, 24000), "silence": make([]int16, 24000), "noise": noise(1, 24000)} {
		if snr, _, ok := toneSNR(pcm, 440, 1000); ok && snr >= minToneSNR {
			t.Errorf("%s passes as 440 Hz at %.1f dB", name, snr)
		}
	}
	if _, _, ok := toneSNR(tone(440, 3000), 440, 1000); ok {
		t.Error("under two blocks accepted")
	}
}

// correlate finds a known delay: received is sent behind 137 samples of silence, with one
// 20 ms frame dropped after 1 s (as a jitter buffer may), so the first window's best delay is
// 137 and every window, the one spanning the drop aside, matches exactly; the median is 1 (up to
// rounding). Unrelated noise correlates near 0.
func TestCorrelate(t *testing.T) {
	sent := noise(2, 16000)
	const delay = 137
	received := append(make([]int16, delay), sent[:8000]...)
	received = append(received, sent[8160:]...)
	c, d, ok := correlate(sent, received)
	if !ok || d != delay || math.Abs(c-1) > 1e-9 {
		t.Fatalf("correlation %.6f, first delay %d (ok %v), want 1 at %d", c, d, ok, delay)
	}
	if c, _, ok := correlate(sent, noise(3, 16000)); !ok || c > 0.2 {
		t.Fatalf("unrelated noise correlates %.3f", c)
	}
	if _, _, ok := correlate(sent[:1000], received); ok {
		t.Fatal("a sent part shorter than one window accepted")
	}
	if _, _, ok := correlate(make([]int16, 24000), received); ok {
		t.Fatal("silence sent accepted")
	}
}
