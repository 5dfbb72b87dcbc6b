package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

func TestParseSessionExpires(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want sessionExpires
	}{
		{"1800", sessionExpires{interval: 1800 * time.Second}},
		{"1800;refresher=uac", sessionExpires{interval: 1800 * time.Second, refresher: "uac"}},
		{" 90 ; Refresher = UAS ; x=y", sessionExpires{interval: 90 * time.Second, refresher: "uas"}}, // RFC 4028 §4 generic-param
		{"4;lr", sessionExpires{interval: 4 * time.Second}},
	} {
		got, err := parseSessionExpires(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSessionExpires(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "abc", "0", "-5", "1.5", "18 00", "1800;refresher=foo", "1800;;x", "1800;=uac",
		"99999999999", "86401", "1800;refresher=uac;refresher=uas"} {
		if got, err := parseSessionExpires(in); err == nil {
			t.Errorf("parseSessionExpires(%q) = %+v, want an error", in, got)
		}
	}
	if d, err := parseMinSE("120;x"); err != nil || d != 120*time.Second {
		t.Errorf("parseMinSE = %v, %v", d, err)
	}
	if _, err := parseMinSE("soon"); err == nil || !strings.Contains(err.Error(), "Min-SE") {
		t.Errorf("parseMinSE(soon) error %v", err)
	}
}

// FuzzSessionExpires: any Session-Expires value parses or is refused without panic, and what
// parses prints back to the same value.
func FuzzSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "600 ; refresher=UAS;x", "0", "1800;refresher", ";", "4294967296"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		se, err := parseSessionExpires(v)
		if err != nil {
			return
		}
		if se.interval < time.Second || se.interval > maxSessionInterval {
			t.Fatalf("%q: interval %v", v, se.interval)
		}
		again, err := parseSessionExpires(se.String())
		if err != nil || again != se {
			t.Fatalf("%q → %q → %+v, %v", v, se.String(), again, err)
		}
	})
}

// timerPhone is a phone on UDP with session timers of whole seconds allowed (sessionFloor).
func timerPhone(t *testing.T, user string, sessionExpires, minSE time.Duration, auto *CallOptions) *Phone {
	t.Helper()
	return newPhoneCfg(t, Config{User: user, AutoAnswer: auto, SessionExpires: sessionExpires, MinSE: minSE,
		sessionFloor: time.Second, Security: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory, AllowSDESWithoutTLS: true}})
}

// dialAnswer places a call from a to b and answers it at b.
func dialAnswer(t *testing.T, a, b *Phone, optsA, optsB CallOptions) (*Call, *Call) {
	t.Helper()
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), optsA)
	if err != nil {
		t.Fatal(err)
	}
	var cb *Call
	select {
	case cb = <-b.Incoming():
	case <-time.After(5 * time.Second):
		t.Fatal("no incoming call")
	}
	if err := cb.Answer(ctx, optsB); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 5*time.Second)
	return ca, cb
}

func sessionOf(c *Call) sessionTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stimer
}

// The caller asks for a 3 s session; the callee, which supports timers, names the caller the
// refresher (RFC 4028 §9), and the caller re-INVITEs every 1.5 s (§10): the call outlives
// several intervals with its keys unchanged and audio flowing, and nobody sends BYE.
func TestSessionTimerRefreshes(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	ctx := context.Background()
	sinkB := &sink{}
	a := timerPhone(t, "alice", 3*time.Second, 2*time.Second, nil)
	b := timerPhone(t, "bob", 0, 2*time.Second, nil)
	c, _ := dialAnswer(t, a, b, CallOptions{Source: audio.Tone(1000, 0.5, 8000)}, CallOptions{Sink: sinkB})
	waitFor(t, c, EventMediaUp, 5*time.Second)
	if st := sessionOf(c); st.interval != 3*time.Second || !st.refresher {
		t.Fatalf("caller's session timer %+v, want 3 s with us refreshing", st)
	}
	keys := c.Keys()
	start := time.Now()
	updates := 0
	for deadline := time.After(7500 * time.Millisecond); ; {
		select {
		case e := <-c.Events():
			if e.Kind == EventEnded {
				t.Fatalf("call ended after %v: %v", time.Since(start), e)
			}
			if e.Kind == EventUpdated {
				updates++
			}
			continue
		case <-deadline:
		}
		break
	}
	// 7.5 s at one refresh per 1.5 s: 5 expected; allow for scheduling.
	if updates < 4 {
		t.Fatalf("%d refreshes in 7.5 s, want about 5", updates)
	}
	if c.Keys() != keys {
		t.Fatal("a refresh changed the keys")
	}
	st, _ := c.Stats()
	if st.SRTPAuthFailures != 0 || st.PacketsSent < 300 {
		t.Fatalf("stats %+v", st)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, c); e.By != Local || e.Reason != "BYE" {
		t.Fatalf("ended %v", e)
	}
	if b, _ := heard(t, sinkB.samples(), 1000, 440); b < 20 {
		t.Fatalf("callee heard the tone at %.1f dB", b)
	}
}

// When the refresher stops refreshing, the other side sends BYE min(32 s, interval/3) before
// the session expires (RFC 4028 §10) and the call ends with reason "session timer expired".
func TestSessionTimerExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	a := timerPhone(t, "alice", 3*time.Second, 2*time.Second, nil)
	b := timerPhone(t, "bob", 0, 2*time.Second, nil)
	c, cb := dialAnswer(t, a, b, CallOptions{}, CallOptions{})
	answered := time.Now()
	c.stopSession() // the refresher falls silent
	e := waitEnded(t, cb)
	took := time.Since(answered)
	if e.By != Local || e.Reason != "session timer expired" {
		t.Fatalf("callee ended %v", e)
	}
	// 3 s − min(32 s, 1 s) = 2 s after the 2xx.
	if took < 1800*time.Millisecond || took > 3*time.Second {
		t.Fatalf("callee ended the session after %v, want about 2 s", took)
	}
	if e := waitEnded(t, c); e.By != Remote {
		t.Fatalf("caller ended %v, want by the callee's BYE", e)
	}
}

// A 422 makes the caller retry once with the callee's Min-SE as interval (RFC 4028 §7.4).
func TestSessionTimer422(t *testing.T) {
	ctx := context.Background()
	a := timerPhone(t, "alice", 2*time.Second, 2*time.Second, nil)
	b := timerPhone(t, "bob", 0, 5*time.Second, nil)
	c, cb := dialAnswer(t, a, b, CallOptions{}, CallOptions{})
	if st := sessionOf(c); st.interval != 5*time.Second || !st.refresher {
		t.Fatalf("caller's session timer %+v, want 5 s after the 422", st)
	}
	if st := sessionOf(cb); st.interval != 5*time.Second || st.refresher {
		t.Fatalf("callee's session timer %+v", st)
	}
	if got := cb.ss.InviteRequest.GetHeader("Min-SE"); got == nil || got.Value() != "5" {
		t.Fatalf("retried INVITE Min-SE %v", got)
	}
	c.Hangup(ctx)
	waitEnded(t, c)
}

// A callee that asks for timers itself (Config.SessionExpires) puts Session-Expires with
// refresher=uac and Require: timer into its 2xx when the caller said Supported: timer (§9);
// a caller that asks for nothing against a callee that offers nothing runs no timer (§7.2).
func TestSessionTimerNegotiation(t *testing.T) {
	ctx := context.Background()
	t.Run("callee inserts", func(t *testing.T) {
		a := timerPhone(t, "alice", 0, 2*time.Second, nil)
		b := timerPhone(t, "bob", 4*time.Second, 2*time.Second, &CallOptions{})
		c, err := a.Dial(ctx, target(b), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, EventAnswered, 5*time.Second)
		c.mu.Lock()
		res := c.cs.InviteResponse
		c.mu.Unlock()
		if se := res.GetHeader("Session-Expires"); se == nil || se.Value() != "4;refresher=uac" {
			t.Fatalf("2xx Session-Expires %v", se)
		}
		if rq := res.GetHeader("Require"); rq == nil || rq.Value() != "timer" {
			t.Fatalf("2xx Require %v", rq)
		}
		if st := sessionOf(c); st.interval != 4*time.Second || !st.refresher {
			t.Fatalf("caller's timer %+v", st)
		}
		c.Hangup(ctx)
		waitEnded(t, c)
	})
	t.Run("nobody asks", func(t *testing.T) {
		a := timerPhone(t, "alice", 0, 2*time.Second, nil)
		b := timerPhone(t, "bob", 0, 2*time.Second, &CallOptions{})
		c, err := a.Dial(ctx, target(b), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, c, EventAnswered, 5*time.Second)
		c.mu.Lock()
		req, res := c.cs.InviteRequest, c.cs.InviteResponse
		c.mu.Unlock()
		if !supportsTimer(req) || req.GetHeader("Session-Expires") != nil || res.GetHeader("Session-Expires") != nil {
			t.Fatalf("INVITE %v / 2xx %v", req.GetHeader("Supported"), res.GetHeader("Session-Expires"))
		}
		if st := sessionOf(c); st.interval != 0 {
			t.Fatalf("timer %+v", st)
		}
		c.Hangup(ctx)
		waitEnded(t, c)
	})
	t.Run("config checks", func(t *testing.T) {
		for _, cfg := range []Config{{MinSE: 30 * time.Second}, {SessionExpires: 60 * time.Second}, {SessionExpires: 150500 * time.Millisecond}} {
			if _, err := NewPhone(cfg); err == nil || !strings.Contains(err.Error(), "RFC 4028") {
				t.Errorf("NewPhone(%v, %v) error %v", cfg.SessionExpires, cfg.MinSE, err)
			}
		}
	})
	t.Run("malformed Session-Expires", func(t *testing.T) {
		req := sip.NewRequest(sip.INVITE, sip.Uri{User: "bob", Host: "127.0.0.1"})
		req.AppendHeader(sip.NewHeader("Session-Expires", "soon"))
		p := &Phone{minSE: 90 * time.Second}
		if _, err := p.sessionTooSmall(req); err == nil {
			t.Fatal("malformed Session-Expires accepted")
		}
		req = sip.NewRequest(sip.INVITE, sip.Uri{User: "bob", Host: "127.0.0.1"})
		req.AppendHeader(sip.NewHeader("x", "60"))
		// Without Supported: timer the UAC could not act on a 422: no refusal (erratum 1687).
		if res, err := p.sessionTooSmall(req); err != nil || res != nil {
			t.Fatalf("x: 60 without Supported: timer gives %v, %v; want no refusal", res, err)
		}
		req.AppendHeader(sip.NewHeader("k", "timer"))
		res, err := p.sessionTooSmall(req)
		if err != nil || res == nil || res.StatusCode != 422 || res.GetHeader("Min-SE").Value() != "90" {
			t.Fatalf("compact x: 60 gives %v, %v; want 422 with Min-SE 90", res, err)
		}
	})
}
