package interop

import (
	"errors"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/media/audio"
)

// Tones: imsphone sends toneIMS, the peer toneWAV, so each recording can be checked for the
// other side's tone and against its own.
const (
	toneIMS  = 1000.0
	tonePeer = 440.0
	rate     = 8000
)

// writeToneWAV writes a 16-bit mono 8 kHz WAV of a sine at freq for d (media/audio, no sox).
func writeToneWAV(t testing.TB, freq float64, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tone.wav")
	w, err := audio.CreateWAV(path, rate)
	if err != nil {
		t.Fatal(err)
	}
	src := audio.ToneFor(freq, 0.5, rate, d)
	buf := make([]int16, 1600)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := w.Write(buf[:n]); werr != nil {
				t.Fatal(werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readWAV reads a whole WAV file as 8 kHz mono.
func readWAV(t testing.TB, path string) []int16 {
	t.Helper()
	src, err := audio.OpenWAV(path, rate)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	buf := make([]int16, 4096)
	for {
		n, err := src.Read(buf)
		pcm = append(pcm, buf[:n]...)
		if err != nil {
			break
		}
	}
	return pcm
}

// sink keeps what imsphone received; media writes from its own goroutine.
type sink struct {
	mu  sync.Mutex
	pcm []int16
}

func (s *sink) Write(p []int16) error {
	s.mu.Lock()
	s.pcm = append(s.pcm, p...)
	s.mu.Unlock()
	return nil
}
func (s *sink) Close() error { return nil }
func (s *sink) samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pcm)
}

// waitSamples waits until s holds n samples with sound (event-driven enough: media writes
// every 20 ms).
func (s *sink) waitSamples(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if loud(s.samples()) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("only %d samples with sound after %v, want %d", loud(s.samples()), within, n)
}

// loud counts samples in 20 ms frames that are not digital silence.
func loud(pcm []int16) int {
	n := 0
	for off := 0; off+160 <= len(pcm); off += 160 {
		for _, v := range pcm[off : off+160] {
			if v > 64 || v < -64 {
				n += 160
				break
			}
		}
	}
	return n
}

// toneCheck is what a recording showed: the strongest frequency found and the SNR of the
// expected tone and of the other side's tone (upper quartile and median of 200 ms blocks).
type toneCheck struct {
	Seconds  float64 // audio with sound
	PeakHz   float64 // strongest component (5 Hz grid) of the best block
	SNR      float64 // expected tone, upper-quartile block
	OtherSNR float64 // the other side's tone, median block
	Blocks   int
}

// analyse measures freq (and other) in pcm on 200 ms blocks of sound, leaving out the first
// 500 ms of sound (jitter buffers settling, aufile/pacer start-up).
func analyse(pcm []int16, freq, other float64) toneCheck {
	const block = 1600
	var frames []int16
	for off := 0; off+160 <= len(pcm); off += 160 {
		f := pcm[off : off+160]
		if loud(f) > 0 {
			frames = append(frames, f...)
		}
	}
	c := toneCheck{Seconds: float64(len(frames)) / rate}
	if len(frames) > 4000 {
		frames = frames[4000:]
	}
	var snrs, others []float64
	best := -math.MaxFloat64
	var bestBlock []int16
	for off := 0; off+block <= len(frames); off += block {
		b := frames[off : off+block]
		s := audio.DetectTone(b, rate, freq)
		snrs = append(snrs, s)
		others = append(others, audio.DetectTone(b, rate, other))
		if s > best {
			best, bestBlock = s, b
		}
	}
	c.Blocks = len(snrs)
	if len(snrs) == 0 {
		c.SNR, c.OtherSNR = -audio.MaxSNR, -audio.MaxSNR
		return c
	}
	slices.Sort(snrs)
	slices.Sort(others)
	c.SNR, c.OtherSNR = snrs[len(snrs)*3/4], others[len(others)/2]
	bestP := 0.0
	for f := 100.0; f <= 3900; f += 5 {
		if p := audio.Goertzel(bestBlock, rate, f); p > bestP {
			bestP, c.PeakHz = p, f
		}
	}
	return c
}

// heard checks that pcm carries freq (SNR ≥ 20 dB in the upper quartile, peak within 10 Hz)
// and not the other tone (median SNR < 0 dB), with at least minSec seconds of sound.
func (c toneCheck) heard(freq float64, minSec float64) bool {
	return c.Seconds >= minSec && c.SNR >= 20 && c.OtherSNR < 0 && math.Abs(c.PeakHz-freq) <= 10
}
