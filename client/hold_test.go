package client

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media"
	"github.com/imsphone/imsphone/media/audio"
)

func rms(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	if len(pcm) == 0 {
		return 0
	}
	return s / float64(len(pcm))
}

// Hold and resume by re-INVITE, from either side, keep the SRTP keys and the running stream
// (SSRC, sequence numbers, ROC): the held party stops sending audio, the tone comes back on
// resume, and no packet fails SRTP authentication.
func TestHoldResume(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, calleeHolds := range []bool{false, true} {
		name := "caller-holds"
		if calleeHolds {
			name = "callee-holds"
		}
		t.Run(name, func(t *testing.T) {
			sinkA, sinkB := &sink{}, &sink{}
			a := newPhone(t, "alice", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
			b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, &CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB})
			ctx := context.Background()
			ca, err := a.Dial(ctx, target(b), CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, ca, EventMediaUp, 3*time.Second)
			cb := incomingCall(t, b)
			waitFor(t, cb, EventAnswered, 3*time.Second)
			keysBefore := ca.Keys()
			holder, held, holderSink := ca, cb, sinkA // the holder keeps sending, the held side goes quiet
			if calleeHolds {
				holder, held, holderSink = cb, ca, sinkB
			}
			time.Sleep(600 * time.Millisecond)
			if err := holder.Hold(ctx); err != nil {
				t.Fatal(err)
			}
			if e := waitFor(t, holder, EventUpdated, 3*time.Second); e.Direction != sdpoa.SendOnly {
				t.Fatalf("holder direction %v", e.Direction)
			}
			if e := waitFor(t, held, EventUpdated, 3*time.Second); e.Direction != sdpoa.RecvOnly {
				t.Fatalf("held direction %v", e.Direction)
			}
			// Wait for audio by sample count, not wall time, so a loaded machine cannot cut it
			// short; 600 ms after a resume are left for the jitter buffer to refill.
			grow := func(from, n int) {
				for deadline := time.Now().Add(4 * time.Second); len(holderSink.samples()) < from+n && time.Now().Before(deadline); {
					time.Sleep(20 * time.Millisecond)
				}
				if len(holderSink.samples()) < from+n {
					t.Fatalf("only %d samples played", len(holderSink.samples())-from)
				}
			}
			// On hold the held side sends no RTP at all (RFC 3264 §5.1; media.Stream.SetSending),
			// while RTCP goes on; a packet or two may have been in flight at the change.
			heldStats := func() media.Stats {
				st, ok := held.Stats()
				if !ok {
					t.Fatal("no stats on the held call")
				}
				return st
			}
			time.Sleep(100 * time.Millisecond)
			s0 := heldStats()
			time.Sleep(time.Second)
			s1 := heldStats()
			if d := s1.PacketsSent - s0.PacketsSent; d > 0 {
				t.Fatalf("held side sent %d RTP packets in 1 s on hold", d)
			}
			if err := holder.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, holder, EventUpdated, 3*time.Second)
			waitFor(t, held, EventUpdated, 3*time.Second)
			n2 := len(holderSink.samples())
			grow(n2, 8000)
			if s2 := heldStats(); s2.PacketsSent <= s1.PacketsSent || s2.SSRC != s0.SSRC {
				t.Fatalf("after resume: %d packets sent (%d before), SSRC %#x (was %#x)", s2.PacketsSent, s1.PacketsSent, s2.SSRC, s0.SSRC)
			}
			pcm := holderSink.samples()
			afterResume := pcm[n2+4800 : n2+8000]
			freq := 440.0
			if calleeHolds {
				freq = 1000
			}
			// The best 200 ms block after resume carries the tone cleanly (one, not all: a
			// starved machine conceals or cuts blocks, see heard).
			best := -200.0
			for off := 0; off+1600 <= len(afterResume); off += 800 {
				best = max(best, audio.DetectTone(afterResume[off:off+1600], 8000, freq))
			}
			if best < 20 {
				t.Fatalf("tone after resume at %.1f dB", best)
			}
			if k := ca.Keys(); k != keysBefore || !bytes.Equal(k.Send.MasterKey, keysBefore.Send.MasterKey) {
				t.Fatal("keys changed across hold/resume")
			}
			ca.Hangup(ctx)
			for _, c := range []*Call{ca, cb} {
				e := waitEnded(t, c)
				if e.Stats == nil || e.Stats.SRTPAuthFailures != 0 || e.Stats.SRTCPAuthFailures != 0 || e.Stats.SRTPReplayDrops != 0 {
					t.Fatalf("stats %v", e.Stats)
				}
			}
		})
	}
}
