package audio_test

import (
	"fmt"

	"github.com/imsphone/imsphone/media/audio"
)

// The check every media test makes: is the 1 kHz tone there, and how clean is it?
func ExampleDetectTone() {
	pcm := make([]int16, 800) // 100 ms at 8 kHz
	audio.ReadFull(audio.Tone(1000, 0.5, 8000), pcm)
	fmt.Println(audio.DetectTone(pcm, 8000, 1000) > 40, audio.DetectTone(pcm, 8000, 1500) < -40)
	// Output: true true
}
