package interop

import (
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/sdes"
)

// newPhone starts an imsphone UA on a free loopback port with SDES mandatory and the given
// suites (nil: the default list).
func newPhone(t testing.TB, user string, suites []string, auto *client.CallOptions) *client.Phone {
	t.Helper()
	return newPhoneWith(t, user, suites, auto, nil)
}

// newPhoneWith is newPhone with the Config adjusted by mod before the Phone starts.
func newPhoneWith(t testing.TB, user string, suites []string, auto *client.CallOptions, mod func(*client.Config)) *client.Phone {
	t.Helper()
	cfg := client.Config{
		User:            user,
		ListenAddr:      "127.0.0.1:0",
		Security:        newPhoneSecurity(suites),
		AutoAnswer:      auto,
		RTCPMinInterval: 500 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := client.NewPhone(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitFor reads a call's events until one of kind; an EventEnded first fails the test.
func waitFor(t testing.TB, c *client.Call, kind client.EventKind, within time.Duration) client.Event {
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
			if e.Kind == client.EventEnded {
				t.Fatalf("call ended while waiting for %v: %v", kind, e)
			}
		case <-deadline:
			t.Fatalf("no %v within %v", kind, within)
		}
	}
}

// waitEnded waits for the call to end and returns its EventEnded.
func waitEnded(t testing.TB, c *client.Call, within time.Duration) client.Event {
	t.Helper()
	select {
	case <-c.Done():
		return c.Ended()
	case <-time.After(within):
		t.Fatalf("call did not end within %v", within)
	}
	return client.Event{}
}

// phoneURI is the Phone's SIP URI as a string.
func phoneURI(p *client.Phone) string {
	u := p.URI()
	return u.String()
}

// newPhoneSecurity is SDES, mandatory, with these suites (nil: the default list). The peers
// here signal over UDP (and TCP) on loopback, so the keys go without TLS by explicit permission
// (RFC 4568 §8.3).
func newPhoneSecurity(suites []string) keymgmt.Policy {
	return keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory, SDES: sdes.Policy{Suites: suites}, AllowSDESWithoutTLS: true}
}
