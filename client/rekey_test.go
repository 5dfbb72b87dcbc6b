package client

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

func keyLogPhone(t *testing.T, user string, klog *lockedBuffer, auto *CallOptions) *Phone {
	t.Helper()
	p, err := NewPhone(Config{User: user, Security: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory, AllowSDESWithoutTLS: true},
		AutoAnswer: auto, KeyLog: klog, RTCPMinInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// incomingCall waits for p's one call.
func incomingCall(t testing.TB, p *Phone) *Call {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		for c := range p.calls {
			p.mu.Unlock()
			return c
		}
		p.mu.Unlock()
	}
	t.Fatal("no incoming call")
	return nil
}

// toneAfter waits until s holds n more samples than from and returns the best 200 ms block's
// SNR for freq among them (one clean block, as in TestHoldResume: a starved machine conceals
// or cuts blocks).
func toneAfter(t *testing.T, s *sink, from, n int, freq float64) float64 {
	t.Helper()
	for deadline := time.Now().Add(6 * time.Second); len(s.samples()) < from+n && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	pcm := s.samples()
	if len(pcm) < from+n {
		t.Fatalf("only %d samples played after the rekey", len(pcm)-from)
	}
	best := -200.0
	for off := from + n/2; off+1600 <= from+n; off += 800 {
		best = max(best, audio.DetectTone(pcm[off:off+1600], 8000, freq))
	}
	return best
}

// SDES rekey by re-INVITE, started by the caller and by the callee, between two phones on
// loopback: both directions get new master keys (new key log lines, new send key ≠ old, each
// side's new send key the other's new recv key), EventUpdated names the suite and key source,
// both tones continue, and no SRTP or SRTCP packet fails authentication across the switch.
func TestRekeySDES(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, calleeRekeys := range []bool{false, true} {
		name := "caller-rekeys"
		if calleeRekeys {
			name = "callee-rekeys"
		}
		t.Run(name, func(t *testing.T) {
			var logA, logB lockedBuffer
			sinkA, sinkB := &sink{}, &sink{}
			a := keyLogPhone(t, "alice", &logA, nil)
			b := keyLogPhone(t, "bob", &logB, &CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB})
			ctx := context.Background()
			ca, err := a.Dial(ctx, target(b), CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, ca, EventMediaUp, 5*time.Second)
			cb := incomingCall(t, b)
			waitFor(t, cb, EventMediaUp, 5*time.Second)
			// Both recv lines are written once each side latched the other's SSRC.
			oldA, oldB := keyLines(t, &logA, 2), keyLines(t, &logB, 2)
			keysA, keysB := ca.Keys(), cb.Keys()
			waitPlayed(8000, 5*time.Second, sinkA, sinkB)

			x, y := ca, cb
			if calleeRekeys {
				x, y = cb, ca
			}
			nA, nB := len(sinkA.samples()), len(sinkB.samples())
			if err := x.Rekey(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Call{x, y} {
				if e := waitFor(t, c, EventUpdated, 5*time.Second); e.Suite != "AES_CM_128_HMAC_SHA1_80" || e.KeySource != "sdes" {
					t.Fatalf("EventUpdated after rekey: suite %q source %q", e.Suite, e.KeySource)
				}
			}
			if ca.Keys() == keysA || cb.Keys() == keysB {
				t.Fatal("Keys() unchanged after the rekey")
			}
			newA, newB := keyLines(t, &logA, 4), keyLines(t, &logB, 4)
			if len(newA) != 4 || len(newB) != 4 {
				t.Fatalf("key log lines: %d and %d, want 4 each", len(newA), len(newB))
			}
			line := func(ls []keyLine, dir string, from int) keyLine {
				for _, l := range ls[from:] {
					if l.dir == dir {
						return l
					}
				}
				t.Fatalf("no %s line in %+v", dir, ls[from:])
				return keyLine{}
			}
			sendA, recvA, sendB, recvB := line(newA, "send", 2), line(newA, "recv", 2), line(newB, "send", 2), line(newB, "recv", 2)
			if bytes.Equal(sendA.key, line(oldA, "send", 0).key) || bytes.Equal(sendB.key, line(oldB, "send", 0).key) {
				t.Fatal("a send key did not change")
			}
			if !bytes.Equal(sendA.key, recvB.key) || !bytes.Equal(sendA.salt, recvB.salt) ||
				!bytes.Equal(sendB.key, recvA.key) || !bytes.Equal(sendB.salt, recvA.salt) {
				t.Fatal("the new keys do not pair up (send of one side = recv of the other)")
			}
			if sendA.ssrc != line(oldA, "send", 0).ssrc || recvA.ssrc != sendB.ssrc {
				t.Fatalf("SSRCs in the new lines: send %08x recv %08x (peer sends %08x)", sendA.ssrc, recvA.ssrc, sendB.ssrc)
			}
			if snr := toneAfter(t, sinkA, nA, 16000, 440); snr < 20 {
				t.Fatalf("caller hears 440 Hz at %.1f dB after the rekey", snr)
			}
			if snr := toneAfter(t, sinkB, nB, 16000, 1000); snr < 20 {
				t.Fatalf("callee hears 1 kHz at %.1f dB after the rekey", snr)
			}
			ca.Hangup(ctx)
			for _, c := range []*Call{ca, cb} {
				e := waitEnded(t, c)
				if e.Stats == nil || e.Stats.SRTPAuthFailures != 0 || e.Stats.SRTCPAuthFailures != 0 || e.Stats.SRTPReplayDrops != 0 {
					t.Fatalf("stats %v", e.Stats)
				}
			}
			if strings.Count(logA.String(), "\n") != 4 {
				t.Fatalf("caller's key log: %d lines, want 4", strings.Count(logA.String(), "\n"))
			}
		})
	}
}

// BenchmarkRekey measures Call.Rekey on a running SDES call on loopback: re-INVITE with fresh
// a=crypto lines, the peer's answer with its new key (receive context installed), our ACK and
// both our new contexts, and the peer's send switch at the ACK (its EventUpdated): waiting for
// it keeps the next re-INVITE from meeting the peer's still-open exchange (491 and a 2.1 s
// retry, RFC 3261 §14.1).
func BenchmarkRekey(b *testing.B) {
	a := newPhone(b, "alice", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	c := newPhone(b, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, &CallOptions{})
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(c), CallOptions{})
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, ca, EventMediaUp, 5*time.Second)
	cb := incomingCall(b, c)
	b.ReportAllocs()
	for b.Loop() {
		if err := ca.Rekey(ctx); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ca, EventUpdated, 5*time.Second)
		waitFor(b, cb, EventUpdated, 5*time.Second)
	}
	b.StopTimer()
	ca.Hangup(ctx)
	if e := waitEnded(b, ca); e.Stats == nil || e.Stats.SRTPAuthFailures != 0 {
		b.Fatalf("stats %v", e.Stats)
	}
}
