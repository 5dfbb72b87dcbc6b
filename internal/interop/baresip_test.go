package interop

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/media/audio"
)

// baresipSuites are the SDES suites baresip 1.0.0 accepts as answerer (its srtp module's
// table); it offers only the first.
var baresipSuites = []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"}

// imsphone calls baresip offering one suite at a time; baresip answers it (CALL_MENC names
// it), each side hears the other's tone, and the call is hung up by either side.
func TestBaresipAnswersEachSuite(t *testing.T) {
	realTime(t)
	version(t, "baresip")
	wav := writeToneWAV(t, tonePeer, 60*time.Second)
	for i, suite := range baresipSuites {
		hangBy := "imsphone"
		if i%2 == 1 {
			hangBy = "baresip"
		}
		t.Run(suite, func(t *testing.T) {
			check(t, "baresip", "imsphone calls baresip, "+suite+", tones both ways, "+hangBy+" hangs up")
			b := startBaresip(t, "bob", wav, "")
			snk := &sink{}
			a := newPhone(t, "alice", []string{suite}, nil)
			ctx := context.Background()
			c, err := a.Dial(ctx, b.uri(), client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate), Sink: snk})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, c, client.EventAnswered, 10*time.Second)
			up := waitFor(t, c, client.EventMediaUp, 5*time.Second)
			if up.Suite != suite || up.KeySource != "sdes" {
				t.Fatalf("imsphone media up with %s (%s), want %s (sdes)", up.Suite, up.KeySource, suite)
			}
			ev, _, err := b.ctrl.waitEvent("CALL_MENC", 0, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(ev.Param, ","+suite) {
				t.Fatalf("baresip CALL_MENC %q, want suite %s", ev.Param, suite)
			}
			snk.waitSamples(t, 3*rate, 15*time.Second)
			from := b.ctrl.eventCount()
			var ended client.Event
			if hangBy == "imsphone" {
				if err := c.Hangup(ctx); err != nil {
					t.Fatal(err)
				}
				ended = waitEnded(t, c, 5*time.Second)
				if ended.By != client.Local {
					t.Fatalf("ended %v", ended)
				}
			} else {
				if _, err := b.ctrl.command("hangup", 5*time.Second); err != nil {
					t.Fatal(err)
				}
				ended = waitEnded(t, c, 5*time.Second)
				if ended.By != client.Remote || ended.Reason != "BYE" {
					t.Fatalf("ended %v, want by remote with BYE", ended)
				}
			}
			if _, _, err := b.ctrl.waitEvent("CALL_CLOSED", from, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if st := ended.Stats; st == nil || st.SRTPAuthFailures != 0 || st.PacketsReceived < 100 {
				t.Fatalf("imsphone stats %+v", st)
			}
			checkTones(t, b, snk)
		})
	}
}

// checkTones checks imsphone's sink for the peer's tone and baresip's last recording of
// received audio for imsphone's tone.
func checkTones(t *testing.T, b *baresip, snk *sink) {
	t.Helper()
	got := analyse(snk.samples(), tonePeer, toneIMS)
	t.Logf("imsphone heard %.0f Hz: SNR %.1f dB at %.0f Hz (own tone %.1f dB), %.1f s of sound", got.PeakHz, got.SNR, tonePeer, got.OtherSNR, got.Seconds)
	if !got.heard(tonePeer, 2) {
		t.Errorf("imsphone did not hear baresip's %.0f Hz tone: %+v", tonePeer, got)
	}
	recs := b.recordings("dec")
	if len(recs) == 0 {
		t.Fatal("baresip recorded nothing")
	}
	rec := recs[len(recs)-1]
	var bg toneCheck
	// sndfile completes the WAV header when the call's audio stops; wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		bg = analyse(readWAV(t, rec), toneIMS, tonePeer)
		if bg.heard(toneIMS, 2) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("baresip heard %.0f Hz: SNR %.1f dB at %.0f Hz (own tone %.1f dB), %.1f s of sound", bg.PeakHz, bg.SNR, toneIMS, bg.OtherSNR, bg.Seconds)
	if !bg.heard(toneIMS, 2) {
		t.Errorf("baresip did not hear imsphone's %.0f Hz tone: %+v", toneIMS, bg)
	}
}

var srtpEnabledRE = regexp.MustCompile(`SRTP is Enabled \(cryptosuite=([A-Z0-9_]+)\)`)
