package client

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

// sink keeps received audio for the tone checks; media writes from its own goroutine.
type sink struct {
	mu  sync.Mutex
	pcm []int16
}

func (s *sink) Write(p []int16) error {
	s.mu.Lock()
	s.pcm = append(s.pcm, p...)
	s.mu.Unlock()
	return nil
}
func (s *sink) Close() error { return nil }
func (s *sink) samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pcm)
}

// waitPlayed waits until every sink holds n samples, or until limit.
func waitPlayed(n int, limit time.Duration, sinks ...*sink) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		done := true
		for _, s := range sinks {
			if len(s.samples()) < n {
				done = false
			}
		}
		if done {
			return
		}
	}
}

func newPhone(t testing.TB, user string, mode keymgmt.Mode, req keymgmt.Requirement, auto *CallOptions) *Phone {
	t.Helper()
	// These phones signal over UDP on loopback: SDES is allowed there (RFC 4568 §8.3 is about
	// paths others can read; tls_sdes_test.go checks the refusal without the permission).
	p, err := NewPhone(Config{User: user, Security: keymgmt.Policy{Mode: mode, Requirement: req, AllowSDESWithoutTLS: true}, AutoAnswer: auto,
		RTCPMinInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func target(p *Phone) string {
	u := p.URI()
	return u.String()
}

// waitFor reads events until one of kind arrives; an EventEnded before it fails the test.
func waitFor(t testing.TB, c *Call, kind EventKind, within time.Duration) Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v (ended: %v)", kind, c.Ended())
			}
			if e.Kind == kind {
				return e
			}
			if e.Kind == EventEnded {
				t.Fatalf("call ended while waiting for %v: %v", kind, e)
			}
		case <-deadline:
			t.Fatalf("no %v within %v", kind, within)
		}
	}
}

func waitEnded(t testing.TB, c *Call) Event {
	t.Helper()
	select {
	case <-c.Done():
		return c.Ended()
	case <-time.After(5 * time.Second):
		t.Fatal("call did not end")
	}
	return Event{}
}

// blockSNRs measures freq in pcm with audio.DetectTone on 200 ms blocks, leaving out the first
// 800 ms (on a loaded machine the answerer's early media arrives as a burst when the caller's
// stream starts, and the adaptive jitter buffer takes a while to settle) and the silence after
// the peer stopped; the result is sorted.
func blockSNRs(t testing.TB, pcm []int16, freq float64) []float64 {
	t.Helper()
	const block = 1600
	for len(pcm) > 160 && rms(pcm[len(pcm)-160:]) == 0 {
		pcm = pcm[:len(pcm)-160]
	}
	if len(pcm) < 6400+3*block {
		t.Fatalf("only %d samples with sound", len(pcm))
	}
	pcm = pcm[6400:]
	var snrs []float64
	for off := 0; off+block <= len(pcm); off += block {
		snrs = append(snrs, audio.DetectTone(pcm[off:off+block], 8000, freq))
	}
	slices.Sort(snrs)
	return snrs
}

// heard reports the tone's SNR at the upper quartile of the blocks (a clean tone in at least a
// quarter of the call: on a starved 2-core machine under -race the 20 ms tick loops skip ticks,
// and concealed or cut blocks are what the statistics are for), and the other tone's median.
func heard(t testing.TB, pcm []int16, freq, other float64) (float64, float64) {
	t.Helper()
	s, o := blockSNRs(t, pcm, freq), blockSNRs(t, pcm, other)
	return s[len(s)*3/4], o[len(o)/2]
}

// Two phones call each other on loopback, plain and with SDES; the caller sends 1 kHz and the
// callee 440 Hz, each must hear the other's tone (and not its own), SRTP must see no
// authentication failure, and either side can hang up.
func TestCallTones(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, tc := range []struct {
		name        string
		mode        keymgmt.Mode
		suite, keys string
		calleeHangs bool
	}{
		{"none/caller-hangs-up", keymgmt.ModeNone, "none", "none", false},
		{"sdes/caller-hangs-up", keymgmt.ModeSDES, "AES_CM_128_HMAC_SHA1_80", "sdes", false},
		{"sdes/callee-hangs-up", keymgmt.ModeSDES, "AES_CM_128_HMAC_SHA1_80", "sdes", true},
		{"none/callee-hangs-up", keymgmt.ModeNone, "none", "none", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sinkA, sinkB := &sink{}, &sink{}
			a := newPhone(t, "alice", tc.mode, keymgmt.Mandatory, nil)
			b := newPhone(t, "bob", tc.mode, keymgmt.Mandatory, &CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB})
			ctx := context.Background()
			ca, err := a.Dial(ctx, target(b), CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, ca, EventAnswered, 3*time.Second)
			up := waitFor(t, ca, EventMediaUp, 2*time.Second)
			if up.Suite != tc.suite || up.KeySource != tc.keys {
				t.Fatalf("media up with %s (%s), want %s (%s)", up.Suite, up.KeySource, tc.suite, tc.keys)
			}
			t.Logf("INVITE → media up: %v", ca.SetupTime())
			cb := incomingCall(t, b)
			// 2 s of audio each way, however slowly a loaded machine plays it.
			waitPlayed(16000, 5*time.Second, sinkA, sinkB)
			hanger, other := ca, cb
			if tc.calleeHangs {
				hanger, other = cb, ca
			}
			if err := hanger.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			eh, eo := waitEnded(t, hanger), waitEnded(t, other)
			if eh.By != Local || eo.By != Remote || eo.Reason != "BYE" {
				t.Fatalf("ended: hanger %v, other %v", eh, eo)
			}
			for _, e := range []Event{eh, eo} {
				if e.Stats == nil {
					t.Fatal("no final statistics")
				}
				if e.Stats.SRTPAuthFailures != 0 || e.Stats.SRTCPAuthFailures != 0 || e.Stats.PacketsReceived < 50 {
					t.Fatalf("stats %v", e.Stats)
				}
			}
			pa, pb := sinkA.samples(), sinkB.samples()
			a440, a1k := heard(t, pa, 440, 1000)
			b1k, b440 := heard(t, pb, 1000, 440)
			t.Logf("caller heard 440 Hz at %.1f dB (1 kHz %.1f dB); callee heard 1 kHz at %.1f dB (440 Hz %.1f dB); concealed %d, late %d frames (both sides)",
				a440, a1k, b1k, b440, eo.Stats.Concealed+eh.Stats.Concealed, eo.Stats.Late+eh.Stats.Late)
			if a440 < 20 || b1k < 20 || a1k > 0 || b440 > 0 {
				t.Fatal("tones not heard as sent")
			}
		})
	}
}

// DTMF typed at the caller arrives at the callee as RFC 4733 events over SRTP; the caller gets
// periodic statistics events.
func TestDTMF(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	a := newPhone(t, "alice", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	a.cfg.StatsInterval = 100 * time.Millisecond
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := <-b.Incoming()
	waitFor(t, cb, EventRinging, time.Second)
	if err := cb.Answer(ctx, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventMediaUp, 3*time.Second)
	if err := ca.SendDTMF("1#"); err != nil {
		t.Fatal(err)
	}
	var got []rune
	for len(got) < 2 {
		got = append(got, waitFor(t, cb, EventDTMF, 3*time.Second).Digit)
	}
	if string(got) != "1#" {
		t.Fatalf("digits %q", string(got))
	}
	if st := waitFor(t, ca, EventStats, time.Second).Stats; st == nil || st.PacketsSent == 0 {
		t.Fatalf("statistics event %v", st)
	}
	ca.Hangup(ctx)
}

func TestReject486(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cb *Call
	select {
	case cb = <-b.Incoming():
	case <-time.After(3 * time.Second):
		t.Fatal("no incoming call")
	}
	waitFor(t, ca, EventRinging, 2*time.Second)
	if err := cb.Reject(ctx, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	e := waitEnded(t, ca)
	if e.Code != 486 || e.Reason != "Busy Here" || e.By != Remote {
		t.Fatalf("caller saw %v", e)
	}
}

func TestCancel487(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := <-b.Incoming()
	waitFor(t, ca, EventRinging, 2*time.Second)
	if err := ca.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ea, eb := waitEnded(t, ca), waitEnded(t, cb)
	if ea.Code != 487 || ea.By != Local || eb.Code != 487 || eb.By != Remote {
		t.Fatalf("caller %v, callee %v", ea, eb)
	}
}

// A plain offer to an sdes-mandatory phone gets 488 with a Warning that says why.
func TestPlainOfferToSDESMandatory(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, &CallOptions{})
	ca, err := a.Dial(context.Background(), target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := waitEnded(t, ca)
	if e.Code != 488 || !strings.HasPrefix(e.Warning, "399 ") || !strings.Contains(e.Warning, "requires SRTP") {
		t.Fatalf("caller saw %v", e)
	}
	t.Logf("488 Warning: %s", e.Warning)
}

// rawInvite sends one INVITE with body from a bare sipgo client and returns the final response.
func rawInvite(t *testing.T, to *Phone, body string) *sip.Response {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, to.URI())
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "mallory", Host: "127.0.0.1", Port: 5}})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTamperedCrypto488(t *testing.T) {
	b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, &CallOptions{})
	sdpWith := func(crypto string) string {
		return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
			"m=audio 40000 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=crypto:" + crypto + "\r\n"
	}
	for name, crypto := range map[string]string{
		"bad base64":   "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!QCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		"wrong length": "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtx",
	} {
		res := rawInvite(t, b, sdpWith(crypto))
		w := res.GetHeader("Warning")
		if res.StatusCode != 488 || w == nil || !strings.HasPrefix(w.Value(), "399 ") {
			t.Fatalf("%s: %s, Warning %v", name, res.StartLine(), w)
		}
		if strings.Contains(w.Value(), "QCVeeCFCanVmcjkpPywjNWhcYD0") {
			t.Fatalf("%s: Warning echoes the key: %s", name, w.Value())
		}
		t.Logf("%s: %s; Warning: %s", name, res.StartLine(), w.Value())
	}
	// Malformed SDP and no common codec are refused the same way, with 399 and 305.
	if res := rawInvite(t, b, "v=0\r\nhello"); res.StatusCode != 488 {
		t.Fatalf("malformed SDP: %s", res.StartLine())
	}
	res := rawInvite(t, b, strings.Replace(sdpWith("1 AES_CM_128_HMAC_SHA1_80 inline:x"), "RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000", "RTP/SAVP 97\r\na=rtpmap:97 iLBC/8000", 1))
	if w := res.GetHeader("Warning"); res.StatusCode != 488 || w == nil || !strings.HasPrefix(w.Value(), "305 ") {
		t.Fatalf("no common codec: %s %v", res.StartLine(), w)
	}
}

func TestOptions(t *testing.T) {
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ua, _ := sipgo.NewUA()
	defer ua.Close()
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, sip.NewRequest(sip.OPTIONS, b.URI()))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.GetHeader("Allow") == nil || !strings.Contains(res.GetHeader("Allow").Value(), "INVITE") {
		t.Fatalf("OPTIONS: %s", res.StartLine())
	}
}
