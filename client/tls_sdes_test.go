package client

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
)

// sdesPhone is a phone on UDP with an SDES policy; its log goes to logs, its keys to keyLog.
func sdesPhone(t *testing.T, user string, req keymgmt.Requirement, allow bool, logs, keyLog *lockedBuffer, auto *CallOptions) *Phone {
	t.Helper()
	cfg := Config{User: user, AutoAnswer: auto, Security: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: req, AllowSDESWithoutTLS: allow}}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if keyLog != nil {
		cfg.KeyLog = keyLog
	}
	return newPhoneCfg(t, cfg)
}

// Without AllowSDESWithoutTLS a phone signalling over UDP neither sends nor accepts SDES keys
// (RFC 4568 §8.3): a mandatory SDES call fails before any INVITE, and an a=crypto offer that
// arrives over UDP is refused with 488 and a Warning that says why.
func TestSDESRefusedWithoutTLS(t *testing.T) {
	ctx := context.Background()
	t.Run("outgoing", func(t *testing.T) {
		a := sdesPhone(t, "alice", keymgmt.Mandatory, false, nil, nil, nil)
		b := sdesPhone(t, "bob", keymgmt.Mandatory, true, nil, nil, &CallOptions{})
		c, err := a.Dial(ctx, target(b), CallOptions{})
		if !errors.Is(err, keymgmt.ErrSDESWithoutTLS) || c != nil {
			t.Fatalf("Dial = %v, %v; want ErrSDESWithoutTLS", c, err)
		}
		if !strings.Contains(err.Error(), "RFC 4568 §8.3") {
			t.Fatalf("error %q does not say why", err)
		}
	})
	for _, req := range []keymgmt.Requirement{keymgmt.Mandatory, keymgmt.Preferred} {
		t.Run("incoming/"+string(req), func(t *testing.T) {
			a := sdesPhone(t, "alice", keymgmt.Mandatory, true, nil, nil, nil)
			b := sdesPhone(t, "bob", req, false, nil, nil, &CallOptions{})
			c, err := a.Dial(ctx, target(b), CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e := waitEnded(t, c)
			if e.Code != 488 || !strings.Contains(e.Warning, "SDES keys over signalling without TLS") || !strings.Contains(e.Warning, "RFC 4568 §8.3") {
				t.Fatalf("ended %v, want 488 with the RFC 4568 §8.3 Warning", e)
			}
			select {
			case in := <-b.Incoming():
				t.Fatalf("refused call reached the callee: %v", in)
			default:
			}
		})
	}
}

// With AllowSDESWithoutTLS an SDES call over UDP works and each side warns once per call that
// its keys crossed signalling without TLS; no key reaches the log.
func TestSDESAllowedWithoutTLSWarns(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	ctx := context.Background()
	var logA, logB, keys lockedBuffer
	a := sdesPhone(t, "alice", keymgmt.Mandatory, true, &logA, &keys, nil)
	b := sdesPhone(t, "bob", keymgmt.Mandatory, true, &logB, nil, &CallOptions{})
	c, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if up := waitFor(t, c, EventMediaUp, 5*time.Second); up.KeySource != "sdes" {
		t.Fatalf("media up %v", up)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c)
	for name, l := range map[string]*lockedBuffer{"caller": &logA, "callee": &logB} {
		if n := strings.Count(l.String(), "SDES keys in SDP over signalling without TLS"); n != 1 {
			t.Errorf("%s warned %d times, want 1:\n%s", name, n, l.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(keys.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no key log lines")
	}
	for _, line := range lines {
		kl := parseKeyLine(t, line)
		logged := logA.String() + logB.String()
		inline := strings.TrimPrefix(strings.Fields(line)[5], "key=")
		if strings.Contains(logged, inline) || strings.Contains(logged, hex.EncodeToString(kl.key)) ||
			strings.Contains(logged, base64.StdEncoding.EncodeToString(kl.key)) {
			t.Fatal("an SRTP master key reached the log")
		}
	}
}

// A preferred SDES policy without TLS makes a plain offer (protection it cannot give is not
// pretended) and says so in the log; the call is up without SRTP.
func TestSDESPreferredWithoutTLSOffersPlain(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	ctx := context.Background()
	var logA lockedBuffer
	a := sdesPhone(t, "alice", keymgmt.Preferred, false, &logA, nil, nil)
	b := sdesPhone(t, "bob", keymgmt.Preferred, false, nil, nil, &CallOptions{})
	c, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, c, EventMediaUp, 5*time.Second)
	if up.KeySource != "none" {
		t.Fatalf("media up %v, want plain RTP", up)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c)
	if !strings.Contains(logA.String(), "offering plain RTP") || !strings.Contains(logA.String(), "RFC 4568 §8.3") {
		t.Fatalf("no fallback warning in:\n%s", logA.String())
	}
}

// Over TLS signalling SDES needs no permission: two UEs on the lab's TLS listener make an SDES
// call (mandatory, AllowSDESWithoutTLS unset) and warn about nothing.
func TestSDESOverTLSThroughLab(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	l := tlsLab(t, &wire{})
	var logA, logB lockedBuffer
	sdesOn := func(logs *lockedBuffer) func(*Config) {
		tlsOn := onTLS(t, l)
		return func(c *Config) {
			tlsOn(c)
			c.Security = keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}
	}
	a := labUEWith(t, l, "alice@home1.net", nil, sdesOn(&logA))
	labUEWith(t, l, "bob@home1.net", &CallOptions{}, sdesOn(&logB))
	ctx := context.Background()
	c, err := a.Dial(ctx, "sip:bob@home1.net", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if up := waitFor(t, c, EventMediaUp, 10*time.Second); up.KeySource != "sdes" {
		t.Fatalf("media up %v", up)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c)
	if s := logA.String() + logB.String(); strings.Contains(s, "without TLS") {
		t.Fatalf("warned over TLS:\n%s", s)
	}
}
