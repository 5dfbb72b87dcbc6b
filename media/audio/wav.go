package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// WAVE format tags (Microsoft RIFF specification; WAVE_FORMAT_EXTENSIBLE from the
// WAVEFORMATEXTENSIBLE definition). Only PCM is decoded.
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatMULaw      = 0x0007
	wavFormatExtensible = 0xfffe

	// Accepted input sample rates (the resampler handles any ratio in between).
	minWAVRate = 8000
	maxWAVRate = 192000
	// maxFmtChunk bounds the "fmt " chunk read into memory (40 octets for EXTENSIBLE).
	maxFmtChunk = 1024
)

// ErrUnsupportedWAV is wrapped by errors for well-formed WAV files this package does not decode
// (float, 8/24/32-bit, compressed, more than two channels, odd rates).
var ErrUnsupportedWAV = errors.New("audio: unsupported WAV format")

// ksdataformatSubtypeTail is bytes 2..15 of the KSDATAFORMAT_SUBTYPE_* GUIDs; the first two
// bytes carry the format tag.
var ksdataformatSubtypeTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}

// WAVInfo is what the "fmt " and "data" chunks of a WAV file say.
type WAVInfo struct {
	Format        Format
	FormatTag     uint16 // after resolving WAVE_FORMAT_EXTENSIBLE
	BitsPerSample int
	BlockAlign    int
	DataSize      uint32 // octets in the "data" chunk as declared
	DataOffset    int64  // file offset of the first sample
}

// WAVReader decodes the PCM samples of a RIFF/WAVE stream as mono 16-bit at the file's own
// rate (stereo is averaged to mono).
type WAVReader struct {
	r      io.Reader
	info   WAVInfo
	left   int64 // octets of sample data still to read
	frames []byte
}

// NewWAVReader parses the RIFF header and chunks up to "data". Chunks other than "fmt " and
// "data" (LIST, fact, ...) are skipped; every chunk is padded to an even length as RIFF
// requires. The RIFF size field is not trusted (streaming writers leave it 0 or too big); a
// "data" chunk whose size runs past the end of the stream ends where the stream ends.
func NewWAVReader(r io.Reader) (*WAVReader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("audio: WAV header at offset 0: %w", noEOF(err))
	}
	if string(hdr[0:4]) == "RF64" {
		return nil, fmt.Errorf("%w: RF64 at offset 0", ErrUnsupportedWAV)
	}
	if string(hdr[0:4]) != "RIFF" {
		return nil, fmt.Errorf("audio: WAV at offset 0: chunk ID %q, want \"RIFF\"", hdr[0:4])
	}
	if string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("audio: WAV at offset 8: form type %q, want \"WAVE\"", hdr[8:12])
	}
	off := int64(12)
	w := &WAVReader{r: r}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("audio: WAV chunk header at offset %d (no \"data\" chunk): %w", off, noEOF(err))
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		off += 8
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, fmt.Errorf("audio: WAV second \"fmt \" chunk at offset %d", off-8)
			}
			if size < 16 || size > maxFmtChunk {
				return nil, fmt.Errorf("audio: WAV \"fmt \" chunk at offset %d: size %d, want 16..%d", off-8, size, maxFmtChunk)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("audio: WAV \"fmt \" chunk at offset %d: %w", off, noEOF(err))
			}
			if err := w.parseFmt(b[:size], off); err != nil {
				return nil, err
			}
			off += int64(len(b))
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("audio: WAV \"data\" chunk at offset %d before the \"fmt \" chunk", off-8)
			}
			w.info.DataSize = size
			w.info.DataOffset = off
			w.left = int64(size)
			w.frames = make([]byte, 0, 512*w.info.BlockAlign)
			return w, nil
		default:
			skip := int64(size) + int64(size&1)
			n, err := io.CopyN(io.Discard, r, skip)
			if err != nil {
				return nil, fmt.Errorf("audio: WAV chunk %q at offset %d: %d of %d octets: %w", id, off-8, n, skip, noEOF(err))
			}
			off += skip
		}
	}
}

func (w *WAVReader) parseFmt(b []byte, off int64) error {
	tag := binary.LittleEndian.Uint16(b[0:2])
	ch := int(binary.LittleEndian.Uint16(b[2:4]))
	rate := binary.LittleEndian.Uint32(b[4:8])
	align := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if tag == wavFormatExtensible {
		if len(b) < 40 {
			return fmt.Errorf("audio: WAV \"fmt \" at offset %d: WAVE_FORMAT_EXTENSIBLE in %d octets, want 40", off, len(b))
		}
		if [14]byte(b[26:40]) != ksdataformatSubtypeTail {
			return fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE sub-format GUID at offset %d is not a KSDATAFORMAT_SUBTYPE", ErrUnsupportedWAV, off+24)
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
		if valid := int(binary.LittleEndian.Uint16(b[18:20])); valid != 0 && valid != bits {
			return fmt.Errorf("%w: %d valid bits in %d-bit containers", ErrUnsupportedWAV, valid, bits)
		}
	}
	w.info = WAVInfo{Format: Format{SampleRate: int(rate), Channels: ch}, FormatTag: tag, BitsPerSample: bits, BlockAlign: align}
	switch tag {
	case wavFormatPCM:
	case wavFormatFloat:
		return fmt.Errorf("%w: IEEE float samples (format tag 3); convert to 16-bit PCM", ErrUnsupportedWAV)
	case wavFormatALaw, wavFormatMULaw:
		return fmt.Errorf("%w: G.711 samples (format tag %d); convert to 16-bit PCM", ErrUnsupportedWAV, tag)
	default:
		return fmt.Errorf("%w: compressed format tag 0x%04x", ErrUnsupportedWAV, tag)
	}
	if bits != 16 {
		return fmt.Errorf("%w: %d-bit PCM, only 16-bit is read", ErrUnsupportedWAV, bits)
	}
	if ch != 1 && ch != 2 {
		return fmt.Errorf("%w: %d channels, want 1 or 2", ErrUnsupportedWAV, ch)
	}
	if rate < minWAVRate || rate > maxWAVRate {
		return fmt.Errorf("%w: sample rate %d Hz, want %d..%d", ErrUnsupportedWAV, rate, minWAVRate, maxWAVRate)
	}
	if align != 2*ch {
		return fmt.Errorf("audio: WAV \"fmt \" at offset %d: block align %d, want %d for %d channels of 16 bits", off+12, align, 2*ch, ch)
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Info returns what the header said.
func (w *WAVReader) Info() WAVInfo { return w.info }

// Read implements Source at the file's sample rate: one mono sample per frame. A trailing
// partial frame is dropped.
func (w *WAVReader) Read(pcm []int16) (int, error) {
	if len(pcm) == 0 {
		return 0, nil
	}
	if w.left < int64(w.info.BlockAlign) {
		return 0, io.EOF
	}
	align := w.info.BlockAlign
	frames := min(len(pcm), cap(w.frames)/align, int(w.left/int64(align)))
	b := w.frames[:frames*align]
	n, err := io.ReadFull(w.r, b)
	got := n / align
	w.left -= int64(n)
	if err != nil {
		w.left = 0 // the stream ended inside the data chunk: that is the end
	}
	for i := 0; i < got; i++ {
		f := b[i*align:]
		if align == 2 {
			pcm[i] = int16(binary.LittleEndian.Uint16(f))
		} else {
			l := int32(int16(binary.LittleEndian.Uint16(f)))
			r := int32(int16(binary.LittleEndian.Uint16(f[2:])))
			pcm[i] = int16((l + r) >> 1)
		}
	}
	if got == 0 {
		return 0, io.EOF
	}
	return got, nil
}

// WAVSource is a WAV file opened for reading, converted to the requested rate.
type WAVSource struct {
	f    *os.File
	src  Source
	info WAVInfo
}

// OpenWAV opens a 16-bit PCM WAV file (mono or stereo, 8 to 192 kHz) and returns it as mono at
// sampleRate, resampled when the file's rate differs. Other formats fail with an error wrapping
// ErrUnsupportedWAV. The file is closed at io.EOF or by Close; the Source is a *WAVSource.
func OpenWAV(path string, sampleRate int) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	r, err := NewWAVReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	src, err := Resample(r, r.info.Format.SampleRate, sampleRate)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &WAVSource{f: f, src: src, info: r.info}, nil
}

// Info describes the file as stored.
func (s *WAVSource) Info() WAVInfo { return s.info }

// Read implements Source.
func (s *WAVSource) Read(pcm []int16) (int, error) {
	n, err := s.src.Read(pcm)
	if err != nil {
		s.Close()
	}
	return n, err
}

// Close closes the file.
func (s *WAVSource) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// WAVWriter writes 16-bit mono PCM as a canonical 44-octet-header WAV: "RIFF" size "WAVE",
// a 16-octet "fmt " chunk with WAVE_FORMAT_PCM, then "data". The sizes are written as zero
// first and patched by Close, so a file cut short still parses (as empty).
type WAVWriter struct {
	w      io.WriteSeeker
	closer io.Closer
	n      int64
	buf    []byte
	closed bool
}

// maxWAVData keeps the RIFF size (36 + data) within 32 bits.
const maxWAVData = 0xffffffff - 36

// NewWAVWriter writes the header for sampleRate to w.
func NewWAVWriter(w io.WriteSeeker, sampleRate int) (*WAVWriter, error) {
	if sampleRate <= 0 || sampleRate > maxWAVRate {
		return nil, fmt.Errorf("audio: WAV sample rate %d Hz", sampleRate)
	}
	ww := &WAVWriter{w: w, buf: wavHeader(nil, sampleRate, 0)}
	if _, err := w.Write(ww.buf); err != nil {
		return nil, fmt.Errorf("audio: WAV header: %w", err)
	}
	return ww, nil
}

func wavHeader(dst []byte, rate int, dataLen uint32) []byte {
	le := binary.LittleEndian
	dst = append(dst, "RIFF"...)
	dst = le.AppendUint32(dst, 36+dataLen)
	dst = append(dst, "WAVEfmt "...)
	dst = le.AppendUint32(dst, 16)
	dst = le.AppendUint16(dst, wavFormatPCM)
	dst = le.AppendUint16(dst, 1)              // channels
	dst = le.AppendUint32(dst, uint32(rate))   // samples per second
	dst = le.AppendUint32(dst, uint32(rate)*2) // bytes per second
	dst = le.AppendUint16(dst, 2)              // block align
	dst = le.AppendUint16(dst, 16)             // bits per sample
	dst = append(dst, "data"...)
	return le.AppendUint32(dst, dataLen)
}

// Write implements Sink.
func (ww *WAVWriter) Write(pcm []int16) error {
	if ww.closed {
		return fmt.Errorf("audio: write to closed WAV")
	}
	if ww.n+2*int64(len(pcm)) > maxWAVData {
		return fmt.Errorf("audio: WAV data would exceed %d octets", int64(maxWAVData))
	}
	b := ww.buf[:0]
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	ww.buf = b
	n, err := ww.w.Write(b)
	ww.n += int64(n)
	return err
}

// Close patches the RIFF and data sizes, and closes the file CreateWAV opened.
func (ww *WAVWriter) Close() error {
	if ww.closed {
		return nil
	}
	ww.closed = true
	var sz [4]byte
	binary.LittleEndian.PutUint32(sz[:], uint32(36+ww.n))
	err := writeAt(ww.w, 4, sz[:])
	binary.LittleEndian.PutUint32(sz[:], uint32(ww.n))
	err = errors.Join(err, writeAt(ww.w, 40, sz[:]))
	if _, e := ww.w.Seek(0, io.SeekEnd); e != nil {
		err = errors.Join(err, e)
	}
	if ww.closer != nil {
		err = errors.Join(err, ww.closer.Close())
	}
	return err
}

func writeAt(w io.WriteSeeker, off int64, b []byte) error {
	if _, err := w.Seek(off, io.SeekStart); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// CreateWAV creates (or truncates) path as a 16-bit mono WAV at sampleRate. The Sink is a
// *WAVWriter; Close completes the file.
func CreateWAV(path string, sampleRate int) (Sink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	w, err := NewWAVWriter(f, sampleRate)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}
