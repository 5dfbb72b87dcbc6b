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
			if m, err := b.proc.waitOutput(srtpEnabledRE, 5*time.Second); err != nil || m[1] != suite {
				t.Fatalf("baresip log: SRTP enabled with %v (%v), want %s", m, err, suite)
			}
			snk.waitSamples(t, 3*rate, 15*time.Second)
			hangup(t, b, c, hangBy, suite == libreSRTCPTag32)
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

// libreSRTCPTag32: with AES_CM_128_HMAC_SHA1_32 baresip 1.0.0 (libre 1.1.0) puts a 32-bit tag
// on SRTCP too (seen on the wire: a 24-octet RTCP APP becomes 32 octets, 4 index + 4 tag),
// where RFC 4568 §6.2 (table: "SRTCP auth. tag 80 bits" for every suite) and RFC 3711 §5.2 ask
// for 80 bits. imsphone (pion/srtp) follows the RFC, so it refuses baresip's SRTCP in that
// suite; SRTP is unaffected.
const libreSRTCPTag32 = "AES_CM_128_HMAC_SHA1_32"

// srtpEnabledRE is baresip's log line naming the suite its SRTP runs with.
var srtpEnabledRE = regexp.MustCompile(`SRTP is Enabled \(cryptosuite=([A-Z0-9_]+)\)`)

// Negative: imsphone offers only a suite baresip does not support (AES_256_CM_HMAC_SHA1_80);
// baresip 1.0.0 logs "no valid a=crypto attribute" but answers 200 with a fresh
// AES_CM_128_HMAC_SHA1_80 line (peers.md §1). RFC 4568 §7.1.3 (the answer's crypto attribute
// must be one of the offered ones, with its tag) makes that answer unacceptable: imsphone must
// not start media and must end the call.
func TestBaresipAnswerWithUnofferedSuiteRefused(t *testing.T) {
	realTime(t)
	version(t, "baresip")
	check(t, "baresip", "negative: imsphone offers only AES_256_CM_HMAC_SHA1_80, baresip answers a fresh _80 line, imsphone refuses the answer")
	wav := writeToneWAV(t, tonePeer, 60*time.Second)
	b := startBaresip(t, "bob", wav, "")
	a := newPhone(t, "alice", []string{"AES_256_CM_HMAC_SHA1_80"}, nil)
	c, err := a.Dial(context.Background(), b.uri(), client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.proc.waitOutput(regexp.MustCompile(`no valid a=crypto attribute`), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-c.Events():
			switch e.Kind {
			case client.EventMediaUp:
				t.Fatalf("media up with %s on an answer with an unoffered suite", e.Suite)
			case client.EventEnded:
				t.Logf("ended: %v", e)
				if e.By != client.Local {
					t.Fatalf("ended by %s, want by imsphone", e.By)
				}
				if _, _, err := b.ctrl.waitEvent("CALL_CLOSED", 0, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("call with an unacceptable answer still up (state %v)", c.Ended())
		}
	}
}
