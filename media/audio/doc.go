// Package audio holds the sources and sinks of 16-bit linear PCM that a media stream sends and
// plays, and the tone measurement the media tests rely on.
//
//   - Source / Sink: mono int16 PCM at one sample rate (the codec's clock rate).
//   - Tone and Silence generators; Echo, a bounded loop from a Sink back to a Source.
//   - WAV (RIFF/WAVE, Microsoft "Multimedia Programming Interface and Data Specifications 1.0",
//     1991: "RIFF" chunk, "fmt " chunk with WAVE_FORMAT_PCM or WAVE_FORMAT_EXTENSIBLE, "data"
//     chunk, chunks padded to even length) in and out. Input: PCM 16-bit, mono or stereo, any
//     rate from 8 to 192 kHz, resampled to the requested rate. Output: PCM 16-bit mono.
//   - Resampler: a polyphase windowed-sinc (Blackman window) rate converter with the low-pass
//     cutoff below the lower Nyquist frequency, so downsampling does not alias. See Resampler.
//   - Goertzel and DetectTone: the Goertzel algorithm (a single DFT term evaluated as a
//     second-order recursion) on a Hann-windowed block, giving a tone's power and its SNR
//     against the rest of the signal.
//   - A live sound device (github.com/gen2brain/malgo) only with the build tag malgo; the
//     default build needs no cgo.
package audio
