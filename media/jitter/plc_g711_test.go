package jitter

import (
	"testing"

	"github.com/imsphone/imsphone/media/audio"
	"github.com/imsphone/imsphone/media/codec"
)

// G.711 frames of a 440 Hz tone with every 10th frame lost: concealment keeps the tone far
// cleaner than filling the gaps with silence.
func TestConcealerG711Loss(t *testing.T) {
	src := audio.Tone(440, 0.5, 8000)
	c := codec.PCMU{}
	plc := NewConcealer(8000)
	var silent, concealed []int16
	frame := make([]int16, 160)
	for i := range 100 {
		audio.ReadFull(src, frame)
		payload := c.Encode(nil, frame)
		if i%10 == 9 {
			silent = append(silent, make([]int16, 160)...)
			concealed = plc.Conceal(concealed, 160)
			continue
		}
		dec, _ := c.Decode(nil, payload)
		plc.Good(dec)
		silent = append(silent, dec...)
		concealed = append(concealed, dec...)
	}
	s := audio.DetectTone(silent, 8000, 440)
	p := audio.DetectTone(concealed, 8000, 440)
	t.Logf("SNR with silence %.1f dB, with concealment %.1f dB", s, p)
	if p < s+6 {
		t.Errorf("concealment %.1f dB vs silence %.1f dB", p, s)
	}
}
