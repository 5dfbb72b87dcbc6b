//go:build malgo

package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/gen2brain/malgo"
)

// Device is the default sound card opened full duplex through miniaudio (github.com/gen2brain/
// malgo, cgo; only with the build tag malgo). It is a Sink for playback and a Source for the
// microphone, both 16-bit mono at the rate it was opened for. Between the audio thread and the
// caller sit two bounded queues (Echo) of DeviceQueue each: a slow reader loses the oldest
// captured audio, a slow writer leaves the speaker silent, and neither blocks the audio thread.
type Device struct {
	ctx     *malgo.AllocatedContext
	dev     *malgo.Device
	play    *Echo
	capture *Echo

	mu      sync.Mutex
	scratch []int16
	closed  bool
}

// DeviceQueue is the length of each of a Device's queues.
const DeviceQueue = 200 // milliseconds

// OpenDevice starts the default capture and playback device at sampleRate.
func OpenDevice(sampleRate int) (*Device, error) {
	if sampleRate <= 0 {
		return nil, fmt.Errorf("audio: device sample rate %d", sampleRate)
	}
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("audio: sound context: %w", err)
	}
	n := sampleRate * DeviceQueue / 1000
	d := &Device{ctx: ctx, play: NewEcho(n), capture: NewEcho(n)}
	cfg := malgo.DefaultDeviceConfig(malgo.Duplex)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = 1
	cfg.Playback.Format = malgo.FormatS16
	cfg.Playback.Channels = 1
	cfg.SampleRate = uint32(sampleRate)
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: d.data})
	if err != nil {
		ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("audio: sound device: %w", err)
	}
	d.dev = dev
	if err := dev.Start(); err != nil {
		d.Close()
		return nil, fmt.Errorf("audio: start sound device: %w", err)
	}
	return d, nil
}

// data runs on the audio thread: queue what was captured, play what was queued.
func (d *Device) data(out, in []byte, frames uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := int(frames)
	if cap(d.scratch) < n {
		d.scratch = make([]int16, n)
	}
	s := d.scratch[:n]
	if len(in) >= 2*n {
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(in[2*i:]))
		}
		d.capture.Write(s)
	}
	if len(out) >= 2*n {
		d.play.Read(s)
		for i, v := range s {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		}
	}
}

// Read implements Source: captured audio, silence when none is waiting.
func (d *Device) Read(pcm []int16) (int, error) { return d.capture.Read(pcm) }

// Write implements Sink: audio to play.
func (d *Device) Write(pcm []int16) error { return d.play.Write(pcm) }

// Close stops the device and releases it.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	var err error
	if d.dev != nil {
		err = d.dev.Stop()
		d.dev.Uninit()
	}
	err = errors.Join(err, d.ctx.Uninit())
	d.ctx.Free()
	d.play.Close()
	d.capture.Close()
	return err
}
