package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type wavSpec struct {
	tag, channels, bits uint16
	rate                uint32
	extensible          bool
	subTag              uint16
	before              [][2]string // extra chunks before "fmt " (id, body)
	between             [][2]string // extra chunks between "fmt " and "data"
	data                []byte
	dataSize            int // -1: len(data)
	noData              bool
}

// build assembles a WAV file byte by byte from the RIFF layout, independently of WAVWriter.
func (s wavSpec) build() []byte {
	le := binary.LittleEndian
	chunk := func(dst []byte, id string, body []byte) []byte {
		dst = append(dst, id...)
		dst = le.AppendUint32(dst, uint32(len(body)))
		dst = append(dst, body...)
		if len(body)%2 == 1 {
			dst = append(dst, 0)
		}
		return dst
	}
	var body []byte
	for _, c := range s.before {
		body = chunk(body, c[0], []byte(c[1]))
	}
	align := s.channels * s.bits / 8
	var f []byte
	tag := s.tag
	if s.extensible {
		tag = wavFormatExtensible
	}
	f = le.AppendUint16(f, tag)
	f = le.AppendUint16(f, s.channels)
	f = le.AppendUint32(f, s.rate)
	f = le.AppendUint32(f, s.rate*uint32(align))
	f = le.AppendUint16(f, align)
	f = le.AppendUint16(f, s.bits)
	if s.extensible {
		f = le.AppendUint16(f, 22)
		f = le.AppendUint16(f, s.bits)
		f = le.AppendUint32(f, 0x3)
		f = le.AppendUint16(f, s.subTag)
		f = append(f, ksdataformatSubtypeTail[:]...)
	}
	body = chunk(body, "fmt ", f)
	for _, c := range s.between {
		body = chunk(body, c[0], []byte(c[1]))
	}
	if !s.noData {
		body = append(body, "data"...)
		size := len(s.data)
		if s.dataSize >= 0 {
			size = s.dataSize
		}
		body = le.AppendUint32(body, uint32(size))
		body = append(body, s.data...)
	}
	out := append([]byte("RIFF"), le.AppendUint32(nil, uint32(4+len(body)))...)
	return append(append(out, "WAVE"...), body...)
}

func pcmBytes(samples ...int16) []byte {
	var b []byte
	for _, v := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func readAll(t *testing.T, src Source) []int16 {
	t.Helper()
	var out []int16
	buf := make([]int16, 333)
	for range 1 << 20 {
		n, err := src.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("source never ends")
	return nil
}

func TestWAVReaderMonoStereo(t *testing.T) {
	mono := wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, data: pcmBytes(1, -2, 32767, -32768), dataSize: -1,
		before: [][2]string{{"JUNK", "odd"}}, between: [][2]string{{"LIST", "INFOISFT"}, {"fact", "\x04\x00\x00\x00"}}}
	r, err := NewWAVReader(bytes.NewReader(mono.build()))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d %v", n, err)
	}
	if got := readAll(t, r); !slices.Equal(got, []int16{1, -2, 32767, -32768}) {
		t.Fatalf("mono %v", got)
	}
	if info := r.Info(); info.Format != (Format{8000, 1}) || info.DataSize != 8 || info.BitsPerSample != 16 {
		t.Fatalf("info %+v", info)
	}
	stereo := wavSpec{tag: 1, channels: 2, bits: 16, rate: 16000, data: pcmBytes(100, 300, -32768, -32768, 32767, 32767, 5, -6, 9), dataSize: -1}
	r, err = NewWAVReader(bytes.NewReader(stereo.build()))
	if err != nil {
		t.Fatal(err)
	}
	// Frames averaged; the trailing half frame is dropped.
	if got := readAll(t, r); !slices.Equal(got, []int16{200, -32768, 32767, -1}) {
		t.Fatalf("stereo %v", got)
	}
	ext := wavSpec{channels: 1, bits: 16, rate: 48000, extensible: true, subTag: 1, data: pcmBytes(7, 8), dataSize: -1}
	r, err = NewWAVReader(bytes.NewReader(ext.build()))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); !slices.Equal(got, []int16{7, 8}) || r.Info().FormatTag != 1 {
		t.Fatalf("extensible %v %+v", got, r.Info())
	}
	// A data size beyond the end of the stream (a writer that never patched it) reads what is
	// there.
	long := wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, data: pcmBytes(1, 2, 3), dataSize: 0x7fffffff}
	r, _ = NewWAVReader(bytes.NewReader(long.build()))
	if got := readAll(t, r); !slices.Equal(got, []int16{1, 2, 3}) {
		t.Fatalf("long %v", got)
	}
}

func TestWAVReaderRejects(t *testing.T) {
	good := wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, data: pcmBytes(1), dataSize: -1}
	for _, tc := range []struct {
		name        string
		b           []byte
		unsupported bool
	}{
		{"empty", nil, false},
		{"not RIFF", append([]byte("RIFX"), good.build()[4:]...), false},
		{"not WAVE", append(append([]byte(nil), good.build()[:8]...), append([]byte("AVI "), good.build()[12:]...)...), false},
		{"RF64", append([]byte("RF64"), good.build()[4:]...), true},
		{"truncated fmt", good.build()[:30], false},
		{"no data chunk", wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, noData: true}.build(), false},
		{"data before fmt", wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, before: [][2]string{{"data", "xx"}}}.build(), false},
		{"two fmt", wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, between: [][2]string{{"fmt ", "0123456789abcdef"}}}.build(), false},
		{"short fmt", bytes.Replace(good.build(), []byte("fmt \x10"), []byte("fmt \x0e"), 1), false},
		{"float", wavSpec{tag: 3, channels: 1, bits: 32, rate: 8000}.build(), true},
		{"float extensible", wavSpec{channels: 1, bits: 32, rate: 8000, extensible: true, subTag: 3}.build(), true},
		{"alaw", wavSpec{tag: 6, channels: 1, bits: 8, rate: 8000}.build(), true},
		{"adpcm", wavSpec{tag: 2, channels: 1, bits: 4, rate: 8000}.build(), true},
		{"24-bit", wavSpec{tag: 1, channels: 1, bits: 24, rate: 48000}.build(), true},
		{"8-bit", wavSpec{tag: 1, channels: 1, bits: 8, rate: 8000}.build(), true},
		{"3 channels", wavSpec{tag: 1, channels: 3, bits: 16, rate: 8000}.build(), true},
		{"4 kHz", wavSpec{tag: 1, channels: 1, bits: 16, rate: 4000}.build(), true},
		{"block align", bytes.Replace(good.build(), []byte{2, 0, 16, 0}, []byte{4, 0, 16, 0}, 1), false},
		{"chunk runs past end", wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, before: [][2]string{{"LIST", "abcdef"}}}.build()[:20], false},
	} {
		_, err := NewWAVReader(bytes.NewReader(tc.b))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if errors.Is(err, ErrUnsupportedWAV) != tc.unsupported {
			t.Errorf("%s: %v (unsupported %v)", tc.name, err, tc.unsupported)
		}
	}
}

// The header WAVWriter writes is the canonical 44-octet PCM header of the RIFF WAVE layout,
// compared octet by octet with a hand-written one.
func TestWAVWriterHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.wav")
	w, err := CreateWAV(path, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]int16{1, -1, 0x1234}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := []byte{
		'R', 'I', 'F', 'F', 42, 0, 0, 0, 'W', 'A', 'V', 'E',
		'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
		0x80, 0x3e, 0, 0, // 16000
		0x00, 0x7d, 0, 0, // 32000 octets per second
		2, 0, 16, 0,
		'd', 'a', 't', 'a', 6, 0, 0, 0,
		1, 0, 0xff, 0xff, 0x34, 0x12,
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file\n% x\nwant\n% x", got, want)
	}
	if err := w.Write([]int16{1}); err == nil {
		t.Fatal("write after close")
	}
}

func TestWAVFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	w, err := CreateWAV(path, 8000)
	if err != nil {
		t.Fatal(err)
	}
	in := tone(1000, 0.5, 8000, 4000)
	for i := 0; i < len(in); i += 160 {
		w.Write(in[i : i+160])
	}
	w.Close()
	src, err := OpenWAV(path, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); !slices.Equal(got, in) {
		t.Fatal("round trip differs")
	}
	if _, err := OpenWAV(filepath.Join(t.TempDir(), "none.wav"), 8000); err == nil {
		t.Fatal("missing file opened")
	}
	os.WriteFile(path, wavSpec{tag: 3, channels: 1, bits: 32, rate: 8000}.build(), 0o644)
	if _, err := OpenWAV(path, 8000); !errors.Is(err, ErrUnsupportedWAV) {
		t.Fatalf("float file: %v", err)
	}
}

// A 1 kHz stereo tone at each accepted input rate comes out at 8 kHz (and 16 kHz) as a clean
// 1 kHz tone of the right length and level.
func TestOpenWAVResamples(t *testing.T) {
	for _, rate := range []int{8000, 16000, 44100, 48000} {
		for _, out := range []int{8000, 16000} {
			n := rate / 2 // half a second
			left := tone(1000, 0.5, rate, n)
			var data []byte
			for _, v := range left {
				data = append(data, pcmBytes(v, v)...)
			}
			path := filepath.Join(t.TempDir(), "in.wav")
			os.WriteFile(path, wavSpec{tag: 1, channels: 2, bits: 16, rate: uint32(rate), data: data, dataSize: -1}.build(), 0o644)
			src, err := OpenWAV(path, out)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, src)
			if len(got) != out/2 {
				t.Errorf("%d -> %d: %d samples, want %d", rate, out, len(got), out/2)
				continue
			}
			mid := got[out/8 : out*3/8]
			m := Measure(mid, out, 1000)
			if m.SNRdB < 60 {
				t.Errorf("%d -> %d: SNR %.1f dB", rate, out, m.SNRdB)
			}
			a := 0.5 * 32767
			if r := m.Tone / (a * a / 2); r < 0.98 || r > 1.02 {
				t.Errorf("%d -> %d: tone power ratio %.4f", rate, out, r)
			}
		}
	}
}

func FuzzWAVReader(f *testing.F) {
	f.Add(wavSpec{tag: 1, channels: 1, bits: 16, rate: 8000, data: pcmBytes(1, 2, 3), dataSize: -1}.build())
	f.Add(wavSpec{tag: 1, channels: 2, bits: 16, rate: 44100, data: pcmBytes(1, 2, 3), dataSize: 100,
		before: [][2]string{{"JUNK", "x"}}}.build())
	f.Add(wavSpec{channels: 1, bits: 16, rate: 48000, extensible: true, subTag: 1, data: pcmBytes(4), dataSize: -1}.build())
	f.Add(wavSpec{tag: 3, channels: 1, bits: 32, rate: 8000}.build())
	f.Add(wavSpec{tag: 1, channels: 1, bits: 16, rate: 8001, data: pcmBytes(1, 2, 3, 4), dataSize: -1}.build())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewWAVReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		info := r.Info()
		if info.BitsPerSample != 16 || info.Format.Channels < 1 || info.Format.Channels > 2 {
			t.Fatalf("accepted %+v", info)
		}
		n := 0
		buf := make([]int16, 100)
		for {
			m, err := r.Read(buf)
			n += m
			if err != nil {
				break
			}
			if m == 0 {
				t.Fatal("Read returned 0, nil")
			}
		}
		if n*info.BlockAlign > len(b) {
			t.Fatalf("read %d frames from %d octets", n, len(b))
		}
		// Resampling whatever was accepted must not fail either.
		r, _ = NewWAVReader(bytes.NewReader(b))
		src, err := Resample(r, info.Format.SampleRate, 8000)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := src.Read(buf); err != nil {
				break
			}
		}
	})
}
