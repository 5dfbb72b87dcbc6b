package codec

import (
	"errors"
	"sort"
	"testing"
)

// refUlaw and refAlaw decode straight from the segment/mantissa structure of ITU-T G.711
// Tables 1 and 2 (bits inverted for µ-law, even bits inverted for A-law), written independently
// of the lookup tables of github.com/zaf/g711 that the codecs use. Values are in the 16-bit
// scale: µ-law's 14-bit range times 4, A-law's 13-bit range times 8.
func refUlaw(code byte) int16 {
	c := ^code
	exp := (c >> 4) & 7
	mant := int32(c & 0x0f)
	mag := ((mant<<3)+0x84)<<exp - 0x84
	if c&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

func refAlaw(code byte) int16 {
	c := code ^ 0x55
	exp := (c >> 4) & 7
	mant := int32(c & 0x0f)
	var mag int32
	if exp == 0 {
		mag = mant<<4 + 8
	} else {
		mag = (mant<<4 + 0x108) << (exp - 1)
	}
	if c&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

func TestG711DecodeAllCodes(t *testing.T) {
	for _, tc := range []struct {
		c   Codec
		ref func(byte) int16
	}{{PCMU{}, refUlaw}, {PCMA{}, refAlaw}} {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		got, err := tc.c.Decode(nil, all)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if want := tc.ref(byte(i)); v != want {
				t.Errorf("%s decode 0x%02x = %d, want %d", tc.c.Name(), i, v, want)
			}
		}
	}
}

// Spot values of G.711: µ-law 0xFF and 0x7F are +0 and -0, 0x80/0x00 the largest magnitudes
// (8031 in 14 bits, Table 2a); A-law 0xD5/0x55 are the smallest (+-1 in 13 bits, the even bits
// inverted), 0xAA/0x2A the largest (4032, Table 1a).
func TestG711KnownValues(t *testing.T) {
	for _, tc := range []struct {
		c    Codec
		code byte
		want int16
	}{
		{PCMU{}, 0xff, 0}, {PCMU{}, 0x7f, 0}, {PCMU{}, 0x80, 8031 * 4}, {PCMU{}, 0x00, -8031 * 4},
		{PCMU{}, 0xfe, 2 * 4}, {PCMU{}, 0x7e, -2 * 4}, {PCMU{}, 0xef, 33 * 4},
		{PCMA{}, 0xd5, 1 * 8}, {PCMA{}, 0x55, -1 * 8}, {PCMA{}, 0xaa, 4032 * 8}, {PCMA{}, 0x2a, -4032 * 8},
		{PCMA{}, 0xc5, 33 * 8},
	} {
		got, _ := tc.c.Decode(nil, []byte{tc.code})
		if got[0] != tc.want {
			t.Errorf("%s decode 0x%02x = %d, want %d", tc.c.Name(), tc.code, got[0], tc.want)
		}
	}
	// Silence encodes to the idle codes.
	if got := (PCMU{}).Encode(nil, []int16{0}); got[0] != 0xff {
		t.Errorf("PCMU encode 0 = 0x%02x, want 0xff", got[0])
	}
	if got := (PCMA{}).Encode(nil, []int16{0}); got[0] != 0xd5 {
		t.Errorf("PCMA encode 0 = 0x%02x, want 0xd5", got[0])
	}
}

// Every reconstruction level encodes back to its own code (µ-law -0 to +0); the encoder is a
// monotonic quantizer that maps every 16-bit input to one of the two levels around it; and the
// segment boundaries fall on the G.711 decision values 4063 (µ-law, 14-bit, Table 2a) and 2048
// (A-law, 13-bit, Table 1a): an input just below picks the top level of the lower segment, one
// just above the bottom level of the upper segment, even where the other level is nearer.
func TestG711EncodeQuantizer(t *testing.T) {
	for _, tc := range []struct {
		c                  Codec
		boundary           int // decision value in the 16-bit scale
		belowLvl, aboveLvl int16
	}{{PCMU{}, 4063 * 4, 15996, 16764}, {PCMA{}, 2048 * 8, 16128, 16896}} {
		var levels []int
		for code := 0; code < 256; code++ {
			v, _ := tc.c.Decode(nil, []byte{byte(code)})
			back := tc.c.Encode(nil, v)
			want := byte(code)
			if tc.c.Name() == "PCMU" && code == 0x7f {
				want = 0xff
			}
			if back[0] != want {
				t.Errorf("%s encode(decode(0x%02x)=%d) = 0x%02x", tc.c.Name(), code, v[0], back[0])
			}
			levels = append(levels, int(v[0]))
		}
		sort.Ints(levels)
		pcm := make([]int16, 0, 65536)
		for x := -32768; x <= 32767; x++ {
			pcm = append(pcm, int16(x))
		}
		enc := tc.c.Encode(nil, pcm)
		dec, _ := tc.c.Decode(nil, enc)
		bad := 0
		for i, x := range pcm {
			q := int(dec[i])
			j := sort.SearchInts(levels, int(x)) // levels[j-1] < x <= levels[j]
			lo, hi := levels[max(j-1, 0)], levels[min(j, len(levels)-1)]
			if q != lo && q != hi || i > 0 && dec[i] < dec[i-1] {
				if bad++; bad < 5 {
					t.Errorf("%s: %d -> %d, levels around it %d..%d", tc.c.Name(), x, q, lo, hi)
				}
			}
		}
		for _, in := range []struct {
			x    int
			want int16
		}{{tc.boundary - 4, tc.belowLvl}, {tc.boundary + 8, tc.aboveLvl}, {-(tc.boundary + 8), -tc.aboveLvl}} {
			got, _ := tc.c.Decode(nil, tc.c.Encode(nil, []int16{int16(in.x)}))
			if got[0] != in.want {
				t.Errorf("%s: %d -> %d, want %d", tc.c.Name(), in.x, got[0], in.want)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestEncodeAppends(t *testing.T) {
	dst := []byte{0xaa}
	dst = (PCMU{}).Encode(dst, []int16{0, 0})
	if len(dst) != 3 || dst[0] != 0xaa || dst[1] != 0xff {
		t.Fatalf("Encode appended %x", dst)
	}
	pcm, _ := (PCMA{}).Decode([]int16{7}, []byte{0xd5})
	if len(pcm) != 2 || pcm[0] != 7 || pcm[1] != 8 {
		t.Fatalf("Decode appended %v", pcm)
	}
}

func TestRegistry(t *testing.T) {
	for _, name := range []string{"pcmu", "PCMU", "PcMa"} {
		c, err := ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		r := Default()
		c2, err := r.ByName(name)
		if err != nil || c2.Name() != c.Name() {
			t.Fatalf("registry %q: %v %v", name, c2, err)
		}
		c3, err := r.ByPayloadType(c.PayloadType())
		if err != nil || c3.Name() != c.Name() {
			t.Fatalf("registry PT %d: %v %v", c.PayloadType(), c3, err)
		}
	}
	if c, _ := ByPayloadType(8); c.Name() != "PCMA" || c.ClockRate() != 8000 || c.Channels() != 1 {
		t.Fatalf("PT 8 = %v", c)
	}
	if _, err := ByName("G722"); !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("G722: %v", err)
	}
	if _, err := Default().ByPayloadType(9); !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("PT 9: %v", err)
	}
	if PCMRate(PCMU{}) != 8000 || PCMRate(wideband{PCMA{}}) != 16000 {
		t.Fatal("PCMRate")
	}
	var r Registry
	if _, err := r.ByName("PCMU"); err == nil {
		t.Fatal("empty registry found PCMU")
	}
	r.Register(PCMU{})
	if len(r.Names()) != 1 {
		t.Fatalf("names %v", r.Names())
	}
}

func BenchmarkPCMU20ms(b *testing.B) { benchCodec(b, PCMU{}) }
func BenchmarkPCMA20ms(b *testing.B) { benchCodec(b, PCMA{}) }

func benchCodec(b *testing.B, c Codec) {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(i*397 - 30000)
	}
	enc := make([]byte, 0, 160)
	dec := make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		enc = c.Encode(enc[:0], pcm)
		dec, _ = c.Decode(dec[:0], enc)
	}
}

// wideband stands in for a codec like G.722 whose PCM rate is not its RTP clock rate.
type wideband struct{ PCMA }

func (wideband) PCMRate() int { return 16000 }
