package e2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

// Two UEs register through the lab with IMS AKA and call each other (alice bob, bob alice) by
// IMPU through its proxy, keyed by the KMS (MIKEY-TICKET) and by SDES: the caller sends 1 kHz,
// the callee 440 Hz, each hears the other's tone and not its own; one side holds and resumes (media keeps flowing, the keys stay);
// either side hangs up; no SRTP or SRTCP packet fails authentication.
func TestProtectedCall(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, tc := range []struct {
		name        string
		mode        keymgmt.Mode
		keySource   string
		calleeHangs bool
		holder      string // "", "caller", "callee"
		bobCalls    bool   // bob dials alice instead
	}{
		{"kms/caller-holds/caller-hangs-up", keymgmt.ModeKMS, "mikey", false, "caller", false},
		{"kms/bob-calls/callee-hangs-up", keymgmt.ModeKMS, "mikey", true, "", true},
		{"sdes/callee-holds/caller-hangs-up", keymgmt.ModeSDES, "sdes", false, "callee", false},
		{"sdes/bob-calls/callee-hangs-up", keymgmt.ModeSDES, "sdes", true, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			a := w.party("alice@home1.net", partyOpts{policy: mandatory(tc.mode)})
			b := w.party("bob@home1.net", partyOpts{policy: mandatory(tc.mode)})
			if got := a.reg.AssociatedURIs(); len(got) == 0 || got[0] != "sip:alice@home1.net" {
				t.Fatalf("P-Associated-URI %v", got)
			}
			// The caller sends 1 kHz, the callee 440 Hz.
			callee := "sip:bob@home1.net"
			if tc.bobCalls {
				a, b, callee = b, a, "sip:alice@home1.net"
			}
			sinkA, sinkB := &sink{}, &sink{}
			ctx := context.Background()
			incoming := answerNext(t, b, client.CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB})
			ca, err := a.phone.Dial(ctx, callee, client.CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
			if err != nil {
				t.Fatal(err)
			}
			up := waitFor(t, ca, client.EventMediaUp, 10*time.Second)
			if up.Suite != "AES_CM_128_HMAC_SHA1_80" || up.KeySource != tc.keySource {
				t.Fatalf("media up with %s (%s), want AES_CM_128_HMAC_SHA1_80 (%s)", up.Suite, up.KeySource, tc.keySource)
			}
			cb := got(t, incoming)
			if e := waitFor(t, cb, client.EventMediaUp, 10*time.Second); e.KeySource != tc.keySource {
				t.Fatalf("callee media up %v", e)
			}
			t.Logf("INVITE → media up: %v", ca.SetupTime())
			sinks := []*sink{sinkA, sinkB}
			waitPlayed(t, 12000, sinks, []int{0, 0})

			if tc.holder != "" {
				holder, held := ca, cb
				if tc.holder == "callee" {
					holder, held = cb, ca
				}
				keysA, keysB := ca.Keys(), cb.Keys()
				statsA, _ := ca.Stats()
				statsB, _ := cb.Stats()
				if err := holder.Hold(ctx); err != nil {
					t.Fatal(err)
				}
				if e := waitFor(t, holder, client.EventUpdated, 5*time.Second); e.Direction != sdpoa.SendOnly {
					t.Fatalf("holder direction %v", e.Direction)
				}
				if e := waitFor(t, held, client.EventUpdated, 5*time.Second); e.Direction != sdpoa.RecvOnly {
					t.Fatalf("held direction %v", e.Direction)
				}
				// On hold only the holder sends (RFC 3264 §5.1, sendonly/recvonly): the held side
				// hears the holder's tone for 0.5 s and sends no RTP (one packet may have been on
				// its way at the change); RTCP goes on.
				heldSink := sinkB
				if tc.holder == "callee" {
					heldSink = sinkA
				}
				hs0, _ := held.Stats()
				waitPlayed(t, 4000, []*sink{heldSink}, []int{heldSink.len()})
				if hs1, _ := held.Stats(); hs1.PacketsSent > hs0.PacketsSent+1 {
					t.Errorf("held side sent %d RTP packets on hold", hs1.PacketsSent-hs0.PacketsSent)
				}
				if err := holder.Resume(ctx); err != nil {
					t.Fatal(err)
				}
				if e := waitFor(t, holder, client.EventUpdated, 5*time.Second); e.Direction != sdpoa.SendRecv {
					t.Fatalf("holder direction after resume %v", e.Direction)
				}
				waitFor(t, held, client.EventUpdated, 5*time.Second)
				nA, nB := sinkA.len(), sinkB.len()
				waitPlayed(t, 8000, sinks, []int{nA, nB})
				after := func(s *sink, from int) []int16 { return s.samples()[from+3200:] } // past the settling
				if snr := bestBlock(after(sinkA, nA), 440); snr < 20 {
					t.Errorf("caller hears 440 Hz at %.1f dB after resume", snr)
				}
				if snr := bestBlock(after(sinkB, nB), 1000); snr < 20 {
					t.Errorf("callee hears 1 kHz at %.1f dB after resume", snr)
				}
				sa, _ := ca.Stats()
				sb, _ := cb.Stats()
				if sa.PacketsReceived < statsA.PacketsReceived+50 || sb.PacketsReceived < statsB.PacketsReceived+50 {
					t.Errorf("media stalled across hold: alice %d → %d, bob %d → %d packets", statsA.PacketsReceived,
						sa.PacketsReceived, statsB.PacketsReceived, sb.PacketsReceived)
				}
				for _, k := range []struct{ before, now *keymgmt.Keys }{{keysA, ca.Keys()}, {keysB, cb.Keys()}} {
					if k.now != k.before || !bytes.Equal(k.now.Send.MasterKey, k.before.Send.MasterKey) ||
						!bytes.Equal(k.now.Recv.MasterKey, k.before.Recv.MasterKey) {
						t.Fatal("keys changed across hold and resume")
					}
				}
			}

			hanger, other := ca, cb
			if tc.calleeHangs {
				hanger, other = cb, ca
			}
			if err := hanger.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			eh, eo := waitEnded(t, hanger), waitEnded(t, other)
			if eh.By != client.Local || eo.By != client.Remote || eo.Reason != "BYE" {
				t.Fatalf("ended: hanger %v, other %v", eh, eo)
			}
			for _, e := range []client.Event{eh, eo} {
				if e.Stats == nil || e.Stats.SRTPAuthFailures != 0 || e.Stats.SRTCPAuthFailures != 0 || e.Stats.SRTPReplayDrops != 0 ||
					e.Stats.PacketsReceived < 50 {
					t.Fatalf("final stats %v", e.Stats)
				}
			}
			a440, a1k := heard(t, sinkA.samples(), 440, 1000)
			b1k, b440 := heard(t, sinkB.samples(), 1000, 440)
			t.Logf("caller heard 440 Hz at %.1f dB (1 kHz %.1f dB); callee heard 1 kHz at %.1f dB (440 Hz %.1f dB)", a440, a1k, b1k, b440)
			if a440 < 20 || b1k < 20 || a1k > 0 || b440 > 0 {
				t.Fatal("tones not heard as sent")
			}
		})
	}
}

// bestBlock is the best 200 ms block's SNR of freq in pcm.
func bestBlock(pcm []int16, freq float64) float64 {
	best := -audio.MaxSNR
	for off := 0; off+1600 <= len(pcm); off += 800 {
		best = max(best, audio.DetectTone(pcm[off:off+1600], 8000, freq))
	}
	return best
}
