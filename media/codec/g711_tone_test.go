package codec

import (
	"testing"

	"github.com/imsphone/imsphone/media/audio"
)

// A 1020 Hz tone at -6 dBFS survives G.711 with the SNR companding allows, about 38 dB for
// µ-law and A-law (the DetectTone ceiling for a 1 s block is far higher). 1020 Hz rather than
// 1000 Hz, as in ITU-T test practice: 1000 Hz is 8000/8, so the same 8 samples repeat and the
// quantisation error is a fixed pattern rather than noise.
func TestG711ToneSNR(t *testing.T) {
	pcm := make([]int16, 8000)
	audio.ReadFull(audio.Tone(1020, 0.5, 8000), pcm)
	for _, c := range []Codec{PCMU{}, PCMA{}} {
		dec, _ := c.Decode(nil, c.Encode(nil, pcm))
		snr := audio.DetectTone(dec, 8000, 1020)
		if snr < 35 || snr > 42 {
			t.Errorf("%s: SNR %.1f dB", c.Name(), snr)
		}
		t.Logf("%s: 1020 Hz at -6 dBFS, SNR %.1f dB", c.Name(), snr)
	}
}
