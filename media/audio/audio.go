package audio

import (
	"io"
	"math"
	"time"
)

// Format describes PCM audio: samples per second and interleaved channels.
type Format struct{ SampleRate, Channels int }

// Source yields 16-bit mono PCM at the rate it was opened for. Read fills pcm and returns how
// many samples it wrote; it returns io.EOF (with n possibly > 0) at the end. A live Source never
// returns 0, nil: it fills silence instead, so a paced sender never spins.
type Source interface {
	Read(pcm []int16) (int, error)
}

// Sink takes 16-bit mono PCM at the rate it was opened for.
type Sink interface {
	Write(pcm []int16) error
	Close() error
}

// ReadFull reads from src until pcm is full or src fails; it returns the samples read.
func ReadFull(src Source, pcm []int16) (int, error) {
	n := 0
	for n < len(pcm) {
		m, err := src.Read(pcm[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// ToneSource generates a sine tone with continuous phase across reads.
type ToneSource struct {
	freq, amp float64
	rate      int
	phase     float64 // radians, kept in [0, 2π)
	step      float64
	left      int64 // samples still to give; -1 without end
}

// Tone returns an endless sine of freqHz at amplitude (fraction of full scale, 0..1; 1 gives
// peaks of 32767) sampled at sampleRate.
func Tone(freqHz, amplitude float64, sampleRate int) Source {
	return newTone(freqHz, amplitude, sampleRate, -1)
}

// ToneSamples is Tone limited to n samples, after which Read returns io.EOF.
func ToneSamples(freqHz, amplitude float64, sampleRate int, n int) Source {
	return newTone(freqHz, amplitude, sampleRate, int64(max(n, 0)))
}

// ToneFor is Tone limited to d (rounded down to whole samples), after which Read returns
// io.EOF.
func ToneFor(freqHz, amplitude float64, sampleRate int, d time.Duration) Source {
	return newTone(freqHz, amplitude, sampleRate, max(int64(d)*int64(sampleRate)/int64(time.Second), 0))
}

func newTone(freqHz, amplitude float64, sampleRate int, n int64) *ToneSource {
	amplitude = math.Max(0, math.Min(1, amplitude))
	t := &ToneSource{freq: freqHz, amp: amplitude * 32767, rate: sampleRate, left: n}
	if sampleRate > 0 {
		t.step = 2 * math.Pi * freqHz / float64(sampleRate)
	}
	return t
}

// Read implements Source.
func (t *ToneSource) Read(pcm []int16) (int, error) {
	n := len(pcm)
	if t.left >= 0 {
		if t.left == 0 {
			return 0, io.EOF
		}
		n = int(min(int64(n), t.left))
		t.left -= int64(n)
	}
	for i := 0; i < n; i++ {
		pcm[i] = int16(math.Round(t.amp * math.Sin(t.phase)))
		t.phase += t.step
		if t.phase >= 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	if t.left == 0 {
		return n, io.EOF
	}
	return n, nil
}

type silence struct{}

// Silence returns an endless Source of zero samples.
func Silence() Source { return silence{} }

func (silence) Read(pcm []int16) (int, error) {
	clear(pcm)
	return len(pcm), nil
}

// Limit returns a Source that gives at most n samples of src and then io.EOF.
func Limit(src Source, n int) Source { return &limited{src: src, left: n} }

type limited struct {
	src  Source
	left int
}

func (l *limited) Read(pcm []int16) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if len(pcm) > l.left {
		pcm = pcm[:l.left]
	}
	n, err := l.src.Read(pcm)
	l.left -= n
	if err == nil && l.left == 0 {
		err = io.EOF
	}
	return n, err
}

// Discard is a Sink that drops everything.
type Discard struct{}

// Write implements Sink.
func (Discard) Write([]int16) error { return nil }

// Close implements Sink.
func (Discard) Close() error { return nil }

// Buffer is a Sink that keeps everything written, up to Max samples (0: unbounded); tests read
// Samples.
type Buffer struct {
	Samples []int16
	Max     int
	Dropped int
}

// Write implements Sink.
func (b *Buffer) Write(pcm []int16) error {
	if b.Max > 0 && len(b.Samples)+len(pcm) > b.Max {
		keep := max(b.Max-len(b.Samples), 0)
		b.Dropped += len(pcm) - keep
		pcm = pcm[:keep]
	}
	b.Samples = append(b.Samples, pcm...)
	return nil
}

// Close implements Sink.
func (b *Buffer) Close() error { return nil }
