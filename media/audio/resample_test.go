package audio

import (
	"math"
	"slices"
	"testing"
)

func resampleAll(t testing.TB, in []int16, from, to int) []int16 {
	r, err := NewResampler(from, to)
	if err != nil {
		t.Fatal(err)
	}
	out := r.Process(nil, in)
	return r.Flush(out)
}

func rmsOf(pcm []int16) float64 {
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(pcm)))
}

// Quality of the 48 kHz → 8 kHz (and 44.1 kHz → 8 kHz) conversion, measured on tones: flat
// pass band, aliases of tones above 4 kHz at least 70 dB down (in practice they vanish below
// the 16-bit rounding: -240 dB is an all-zero output).
func TestResamplerDownQuality(t *testing.T) {
	for _, from := range []int{48000, 44100} {
		for _, tc := range []struct {
			freq   float64
			minDB  float64 // output level vs input level, dB
			maxDB  float64
			minSNR float64 // for pass band tones
		}{
			{300, -0.05, 0.05, 70}, {1000, -0.05, 0.05, 70}, {3000, -0.1, 0.1, 70}, {3300, -1, 0.1, 60},
			{4100, -300, -70, 0}, {5000, -300, -70, 0}, {7000, -300, -70, 0}, {11000, -300, -70, 0},
		} {
			in := tone(tc.freq, 0.5, from, from/2)
			out := resampleAll(t, in, from, 8000)
			if len(out) != 4000 {
				t.Fatalf("%d samples", len(out))
			}
			mid := out[500:3500]
			db := 20 * math.Log10(rmsOf(mid)/rmsOf(in)+1e-12)
			if db < tc.minDB || db > tc.maxDB {
				t.Errorf("%d Hz → 8 kHz, %v Hz tone: level %.2f dB, want %v..%v", from, tc.freq, db, tc.minDB, tc.maxDB)
			}
			if tc.minSNR > 0 {
				if snr := DetectTone(mid, 8000, tc.freq); snr < tc.minSNR {
					t.Errorf("%d Hz → 8 kHz, %v Hz tone: SNR %.1f dB", from, tc.freq, snr)
				}
			}
			t.Logf("%d→8000 %5.0f Hz: %7.2f dB", from, tc.freq, db)
		}
	}
}

func TestResamplerUp(t *testing.T) {
	in := tone(1000, 0.5, 8000, 8000)
	out := resampleAll(t, in, 8000, 48000)
	if len(out) != 48000 {
		t.Fatalf("%d samples", len(out))
	}
	if snr := DetectTone(out[6000:42000], 48000, 1000); snr < 70 {
		t.Errorf("SNR %.1f dB", snr)
	}
	// Output sample 6n is input sample n: no delay.
	for n := 100; n < 200; n++ {
		if d := int(out[6*n]) - int(in[n]); d < -3 || d > 3 {
			t.Fatalf("out[%d]=%d, in[%d]=%d", 6*n, out[6*n], n, in[n])
		}
	}
}

func TestResamplerStreamingAndDC(t *testing.T) {
	in := tone(700, 0.3, 44100, 9000)
	whole := resampleAll(t, in, 44100, 16000)
	r, _ := NewResampler(44100, 16000)
	var parts []int16
	for i, step := 0, 1; i < len(in); i, step = i+step, step*3%997+1 {
		parts = r.Process(parts, in[i:min(i+step, len(in))])
	}
	parts = r.Flush(parts)
	if !slices.Equal(whole, parts) {
		t.Fatal("chunked output differs")
	}
	if want := (9000*160 + 440) / 441; len(whole) != want {
		t.Fatalf("%d samples, want %d", len(whole), want)
	}
	dc := make([]int16, 4800)
	for i := range dc {
		dc[i] = 1000
	}
	out := resampleAll(t, dc, 48000, 8000)
	for i := 100; i < 700; i++ {
		if out[i] != 1000 {
			t.Fatalf("DC out[%d] = %d", i, out[i])
		}
	}
	same, _ := NewResampler(8000, 8000)
	if got := same.Flush(same.Process(nil, []int16{1, 2})); !slices.Equal(got, []int16{1, 2}) {
		t.Fatalf("same rate %v", got)
	}
	for _, bad := range [][2]int{{0, 8000}, {8000, -1}, {8000, 500000}} {
		if _, err := NewResampler(bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func BenchmarkResample48kTo8k20ms(b *testing.B) {
	r, _ := NewResampler(48000, 8000)
	in := tone(1000, 0.5, 48000, 960)
	out := make([]int16, 0, 200)
	b.ReportAllocs()
	for b.Loop() {
		out = r.Process(out[:0], in)
	}
}

// A ratio with more output phases than the bank holds (8001 Hz → 8000 Hz needs 8000) rounds
// the output instants to the nearest of 4096 phases; a tone still comes out clean.
func TestResamplerOddRatio(t *testing.T) {
	for _, tc := range [][2]int{{8001, 8000}, {44056, 16000}, {11025, 8000}} {
		in := tone(997, 0.5, tc[0], tc[0]/2)
		out := resampleAll(t, in, tc[0], tc[1])
		if want := (len(in)*tc[1] + tc[0] - 1) / tc[0]; len(out) != want {
			t.Errorf("%v: %d samples, want %d", tc, len(out), want)
		}
		mid := out[len(out)/4 : len(out)*3/4]
		if snr := DetectTone(mid, tc[1], 997); snr < 60 {
			t.Errorf("%v: SNR %.1f dB", tc, snr)
		}
		t.Logf("%d→%d: SNR %.1f dB", tc[0], tc[1], DetectTone(mid, tc[1], 997))
	}
}
