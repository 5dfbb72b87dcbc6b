package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
)

func newPhoneCfg(t testing.TB, cfg Config) *Phone {
	t.Helper()
	if cfg.RTCPMinInterval == 0 {
		cfg.RTCPMinInterval = 500 * time.Millisecond
	}
	p, err := NewPhone(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func incoming(t testing.TB, p *Phone) *Call {
	t.Helper()
	select {
	case c := <-p.Incoming():
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no incoming call")
	}
	return nil
}

// An outgoing call nobody answers is CANCELled at NoAnswerTimeout (RFC 3261 §9.1): 487, by us.
func TestNoAnswerTimeoutOutgoing(t *testing.T) {
	a := newPhoneCfg(t, Config{User: "alice", NoAnswerTimeout: 300 * time.Millisecond})
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ca, err := a.Dial(context.Background(), target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := incoming(t, b)
	waitFor(t, ca, EventRinging, 10*time.Second)
	ea, eb := waitEnded(t, ca), waitEnded(t, cb)
	if ea.By != Local || ea.Code != 487 || !strings.Contains(ea.Reason, "no answer") {
		t.Fatalf("caller: %v", ea)
	}
	if eb.By != Remote || eb.Code != 487 {
		t.Fatalf("callee: %v", eb)
	}
	if err := cb.Answer(context.Background(), CallOptions{}); !errors.Is(err, ErrCallEnded) {
		t.Fatalf("Answer after CANCEL: %v", err)
	}
}

// An incoming call neither answered nor rejected within NoAnswerTimeout gets 480
// (RFC 3261 §21.4.18).
func TestNoAnswerTimeoutIncoming(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	b := newPhoneCfg(t, Config{User: "bob", NoAnswerTimeout: 300 * time.Millisecond})
	ca, err := a.Dial(context.Background(), target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := incoming(t, b)
	ea, eb := waitEnded(t, ca), waitEnded(t, cb)
	if ea.By != Remote || ea.Code != 480 {
		t.Fatalf("caller: %v", ea)
	}
	if eb.By != Local || eb.Code != 480 || eb.Reason != "no answer" {
		t.Fatalf("callee: %v", eb)
	}
	if err := cb.Answer(context.Background(), CallOptions{}); !errors.Is(err, ErrCallEnded) {
		t.Fatalf("Answer after timeout: %v", err)
	}
}

// A call answered within NoAnswerTimeout is not touched by it.
func TestNoAnswerTimeoutAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	a := newPhoneCfg(t, Config{User: "alice", NoAnswerTimeout: 2 * time.Second})
	b := newPhoneCfg(t, Config{User: "bob", NoAnswerTimeout: 2 * time.Second})
	ca, err := a.Dial(context.Background(), target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := incoming(t, b)
	if err := cb.Answer(context.Background(), CallOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 10*time.Second)
	select {
	case <-ca.Done():
		t.Fatalf("ended: %v", ca.Ended())
	case <-cb.Done():
		t.Fatalf("callee ended: %v", cb.Ended())
	case <-time.After(2500 * time.Millisecond):
	}
	if err := ca.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, cb); e.By != Remote {
		t.Fatalf("callee: %v", e)
	}
}
