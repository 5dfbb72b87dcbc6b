package interop

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/media/audio"
)

// newKey returns a fresh base64 key‖salt of n octets for a scenario's a=crypto line.
func newKey(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// SIPp answers imsphone's SDES offer (RTP/SAVP, a=crypto) with the offered _80 line's tag and
// a key of its own, and hangs up after 2 s: BYE from the far end. SIPp has no SRTP; its
// -rtp_echo returns imsphone's own SRTP, keyed with imsphone's sending key, which imsphone
// must refuse under the answer's key: no media up, every echoed packet an authentication
// failure. The second case drops the first INVITE on the way (a relay): only imsphone's UDP
// retransmission reaches SIPp and is answered.
func TestSippAnswersSDES(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	for _, tc := range []struct {
		name string
		drop bool
		what string
	}{
		{"answer", false, "SIPp UAS answers imsphone's RTP/SAVP a=crypto offer; BYE from the far end; echoed SRTP under the wrong key refused"},
		{"retransmission", true, "UDP retransmission: first INVITE dropped on the way, imsphone's retransmission answered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, "SIPp", tc.what)
			s := startSipp(t, "uas_crypto", "", map[string]string{"ANSWER_KEY": newKey(t, 30), "TALK_MS": "2000"}, "-rtp_echo")
			target := s.uri("sipp")
			var relay *invDropper
			if tc.drop {
				relay = startInvDropper(t, s.port)
				target = fmt.Sprintf("sip:sipp@127.0.0.1:%d", relay.port())
			}
			a := newPhone(t, "alice", nil, nil)
			start := time.Now()
			c, err := a.Dial(context.Background(), target, client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate)})
			if err != nil {
				t.Fatal(err)
			}
			if relay != nil {
				defer func() { t.Logf("relay saw %d INVITEs", relay.invites()) }()
			}
			waitFor(t, c, client.EventAnswered, 10*time.Second)
			el := time.Since(start)
			t.Logf("answered after %v", el)
			// The retransmission follows Timer A = T1 = 500 ms (RFC 3261 §17.1.1.2): a protocol
			// value, so an answer much earlier means the first INVITE was not the one dropped.
			if relay != nil && (relay.invites() < 2 || el < 450*time.Millisecond) {
				t.Fatalf("relay saw %d INVITEs, answer after %v", relay.invites(), el)
			}
			var ended client.Event
		events:
			for {
				select {
				case e := <-c.Events():
					if e.Kind == client.EventMediaUp {
						t.Fatalf("media up on SRTP echoed under another key")
					}
					if e.Kind == client.EventEnded {
						ended = e
						break events
					}
				case <-time.After(10 * time.Second):
					t.Fatal("SIPp did not hang up")
				}
			}
			if ended.By != client.Remote || ended.Reason != "BYE" {
				t.Fatalf("ended %v, want BYE from SIPp", ended)
			}
			s.wait(t, 10*time.Second)
			if k := c.Keys(); k == nil || k.Method != "sdes" || k.Suite != "AES_CM_128_HMAC_SHA1_80" {
				t.Fatalf("keys %v", k)
			}
			if st := ended.Stats; st == nil || st.SRTPAuthFailures < 20 {
				t.Fatalf("echoed SRTP: stats %v, want authentication failures", st)
			}
			t.Logf("stats %v", ended.Stats)
		})
	}
}
