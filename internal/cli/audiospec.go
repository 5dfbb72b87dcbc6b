package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/imsphone/imsphone/media/audio"
)

// callRate is the PCM rate of the audio imsphone plays and records: the G.711 clock rate of the
// codecs it speaks (RFC 3551 §4.5.14).
const callRate = 8000

// toneAmplitude is the level of tone:FREQ, −10 dBFS: loud and far from G.711's clipping.
const toneAmplitude = 0.316

// playSpec is a parsed --play value: "tone:440", "silence" or a WAV file.
type playSpec struct {
	tone float64 // Hz, when a tone
	file string  // WAV path, when a file
}

func parsePlay(s string) (playSpec, error) {
	switch {
	case s == "" || s == "silence":
		return playSpec{}, nil
	case strings.HasPrefix(s, "tone:"):
		f, err := strconv.ParseFloat(strings.TrimPrefix(s, "tone:"), 64)
		if err != nil || f <= 0 || f >= callRate/2 {
			return playSpec{}, usageErrorf("--play %q: a tone is tone:FREQ with 0 < FREQ < %d Hz", s, callRate/2)
		}
		return playSpec{tone: f}, nil
	}
	return playSpec{file: s}, nil
}

func (p playSpec) String() string {
	switch {
	case p.tone > 0:
		return fmt.Sprintf("tone %g Hz", p.tone)
	case p.file != "":
		return p.file
	}
	return "silence"
}

// open returns a fresh source (each call plays from the start) and a channel closed when a WAV
// file has been played to its end (nil for endless sources).
func (p playSpec) open() (audio.Source, <-chan struct{}, error) {
	switch {
	case p.tone > 0:
		return audio.Tone(p.tone, toneAmplitude, callRate), nil, nil
	case p.file != "":
		src, err := audio.OpenWAV(p.file, callRate)
		if err != nil {
			return nil, nil, &exitError{code: ExitUsage, err: fmt.Errorf("--play: %w", err)}
		}
		e := &eofSource{src: src, done: make(chan struct{})}
		return e, e.done, nil
	}
	return nil, nil, nil
}

// eofSource tells when its source ran out.
type eofSource struct {
	src  audio.Source
	done chan struct{}
	once sync.Once
}

func (e *eofSource) Read(pcm []int16) (int, error) {
	n, err := e.src.Read(pcm)
	if errors.Is(err, io.EOF) {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}

// onceSink lets both the media stream and the command close a recording.
type onceSink struct {
	audio.Sink
	once sync.Once
	err  error
}

func (s *onceSink) Close() error {
	s.once.Do(func() { s.err = s.Sink.Close() })
	return s.err
}

// recordPath is the file of the n-th call (1-based) recorded to base: base itself for the
// first, then base-2.wav, base-3.wav, ...
func recordPath(base string, n int) string {
	if n <= 1 {
		return base
	}
	ext := ""
	if i := strings.LastIndexByte(base, '.'); i > strings.LastIndexByte(base, '/') {
		base, ext = base[:i], base[i:]
	}
	return fmt.Sprintf("%s-%d%s", base, n, ext)
}

func createRecording(path string) (*onceSink, error) {
	if path == "" {
		return nil, nil
	}
	s, err := audio.CreateWAV(path, callRate)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	return &onceSink{Sink: s}, nil
}
