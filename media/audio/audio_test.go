package audio

import (
	"errors"
	"io"
	"slices"
	"testing"
	"time"
)

func TestToneContinuousPhase(t *testing.T) {
	one := make([]int16, 400)
	ReadFull(Tone(697, 0.4, 8000), one)
	src := Tone(697, 0.4, 8000)
	var pieces []int16
	for _, n := range []int{1, 159, 80, 160} {
		buf := make([]int16, n)
		if _, err := ReadFull(src, buf); err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, buf...)
	}
	if !slices.Equal(one, pieces) {
		t.Fatal("tone differs when read in pieces")
	}
	peak := slices.Max(one)
	if peak < 13100 || peak > 13107 {
		t.Errorf("peak %d, want about 0.4·32767", peak)
	}
}

func TestToneSamplesAndLimit(t *testing.T) {
	src := ToneSamples(1000, 1, 8000, 250)
	buf := make([]int16, 160)
	n, err := src.Read(buf)
	if n != 160 || err != nil {
		t.Fatalf("first read %d %v", n, err)
	}
	n, err = src.Read(buf)
	if n != 90 || err != io.EOF {
		t.Fatalf("second read %d %v", n, err)
	}
	if n, err = src.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after end %d %v", n, err)
	}
	if n, err := ReadFull(ToneFor(440, 0.1, 8000, 15*time.Millisecond), buf); n != 120 || err != io.EOF {
		t.Fatalf("15 ms tone: %d %v", n, err)
	}
	n, err = ReadFull(Limit(Silence(), 100), buf)
	if n != 100 || err != io.EOF {
		t.Fatalf("limit %d %v", n, err)
	}
	buf[0] = 5
	if n, err := Silence().Read(buf); n != 160 || err != nil || buf[0] != 0 {
		t.Fatalf("silence %d %v %d", n, err, buf[0])
	}
	if n, err := ReadFull(stuck{}, buf); n != 0 || !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("stuck source: %d %v", n, err)
	}
}

type stuck struct{}

func (stuck) Read([]int16) (int, error) { return 0, nil }

func TestEcho(t *testing.T) {
	e := NewEcho(5)
	out := make([]int16, 4)
	if n, err := e.Read(out); n != 4 || err != nil || slices.Max(out) != 0 {
		t.Fatalf("empty echo: %d %v %v", n, err, out)
	}
	e.Write([]int16{1, 2, 3})
	e.Write([]int16{4, 5, 6, 7}) // 1 and 2 are dropped
	if e.Dropped() != 2 || e.Len() != 5 {
		t.Fatalf("dropped %d len %d", e.Dropped(), e.Len())
	}
	e.Read(out)
	if !slices.Equal(out, []int16{3, 4, 5, 6}) {
		t.Fatalf("read %v", out)
	}
	e.Write([]int16{8, 9, 10, 11, 12, 13, 14}) // longer than the queue: keeps the newest 5
	e.Read(out)
	if !slices.Equal(out, []int16{10, 11, 12, 13}) {
		t.Fatalf("read %v", out)
	}
	e.Close()
	if err := e.Write([]int16{1}); err == nil {
		t.Fatal("write after close")
	}
	if n, err := e.Read(out); n != 1 || err != nil || out[0] != 14 {
		t.Fatalf("drain %d %v %v", n, err, out)
	}
	if _, err := e.Read(out); err != io.EOF {
		t.Fatalf("after drain %v", err)
	}
}

func TestBufferSink(t *testing.T) {
	b := &Buffer{Max: 3}
	b.Write([]int16{1, 2})
	b.Write([]int16{3, 4})
	if !slices.Equal(b.Samples, []int16{1, 2, 3}) || b.Dropped != 1 {
		t.Fatalf("%v %d", b.Samples, b.Dropped)
	}
}
