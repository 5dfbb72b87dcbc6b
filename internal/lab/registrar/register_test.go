package registrar

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func contactExpires(t *testing.T, res *sip.Response) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, h := range res.GetHeaders("Contact") {
		c := h.(*sip.ContactHeader)
		e, _ := c.Params.Get("expires")
		out[c.Address.HostPort()] = e
	}
	return out
}

func TestRegisterDigestMD5AndSHA256(t *testing.T) {
	core := newTestCore(t, nil)
	for _, tc := range []struct{ alg, tp string }{{"MD5", "udp"}, {"SHA-256", "tcp"}} {
		t.Run(tc.alg, func(t *testing.T) {
			ua := newTestUA(t, core, "alice", tc.tp)
			res := ua.registerDigest("sip:alice@home1.net", "alice@home1.net", "alice-secret", 600, tc.alg)
			if res.StatusCode != 200 {
				t.Fatalf("REGISTER: %d %s, want 200", res.StatusCode, res.Reason)
			}
			if got := contactExpires(t, res)[ua.contact.Address.HostPort()]; got != "600" {
				t.Errorf("granted expires %q, want 600", got)
			}
			pau := res.GetHeader("P-Associated-URI")
			if pau == nil || pau.Value() != "<sip:alice@home1.net>, <sip:+15550001@home1.net>" {
				t.Errorf("P-Associated-URI = %v", pau)
			}
			sr := res.GetHeader("Service-Route")
			if sr == nil || !strings.Contains(sr.Value(), core.addr) || !strings.Contains(sr.Value(), ";lr") {
				t.Errorf("Service-Route = %v, want our address with ;lr", sr)
			}
			if ai := res.GetHeader("Authentication-Info"); ai == nil || !strings.Contains(ai.Value(), "rspauth=") {
				t.Errorf("Authentication-Info = %v", ai)
			}
			// The implicit registration set: the second IMPU is bound too (TS 24.229).
			if n := len(core.srv.Location().Lookup("sip:+15550001@home1.net")); n < 1 {
				t.Errorf("implicitly registered IMPU has %d bindings", n)
			}
		})
	}
}

func TestRegisterWrongPasswordForbidden(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "alice", "udp")
	res := ua.registerDigest("sip:alice@home1.net", "alice@home1.net", "guess", 600, "MD5")
	if res.StatusCode != 403 {
		t.Fatalf("wrong password: %d, want 403", res.StatusCode)
	}
	if n := len(core.srv.Location().Lookup("sip:alice@home1.net")); n != 0 {
		t.Fatalf("%d bindings after a refused REGISTER", n)
	}
}

func TestRegisterIdentityChecks(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "alice", "udp")
	// bob's IMPI cannot register alice's IMPU.
	req := ua.newRegister("sip:alice@home1.net", 600)
	res := ua.send(req)
	ch := pickChallenge(t, res, "WWW-Authenticate", "MD5")
	res = ua.retry(req, "Authorization", independentDigest(ch, "bob@home1.net", "bob-secret", "REGISTER", "sip:home1.net", "c1"))
	if res.StatusCode != 403 {
		t.Errorf("foreign IMPI: %d, want 403", res.StatusCode)
	}
	res = ua.send(ua.newRegister("sip:nobody@home1.net", 600))
	if res.StatusCode != 404 {
		t.Errorf("unknown IMPU: %d, want 404", res.StatusCode)
	}
	other := ua.newRegister("sip:alice@home1.net", 600)
	other.Recipient = sip.Uri{Scheme: "sip", Host: "other.net"}
	if res := ua.send(other); res.StatusCode != 404 {
		t.Errorf("foreign domain: %d, want 404", res.StatusCode)
	}
}

func TestRegisterNonceSingleUseAndStale(t *testing.T) {
	core := newTestCore(t, func(c *Config) { c.NonceLifetime = 30 * time.Second })
	ua := newTestUA(t, core, "alice", "udp")
	req := ua.newRegister("sip:alice@home1.net", 600)
	ch := pickChallenge(t, ua.send(req), "WWW-Authenticate", "MD5")
	authz := independentDigest(ch, "alice@home1.net", "alice-secret", "REGISTER", "sip:home1.net", "c1")
	if res := ua.retry(req, "Authorization", authz); res.StatusCode != 200 {
		t.Fatalf("first use: %d", res.StatusCode)
	}
	res := ua.retry(req, "Authorization", authz)
	if res.StatusCode != 401 {
		t.Fatalf("replayed nonce: %d, want 401", res.StatusCode)
	}
	// A correct answer after the nonce lifetime gets 401 stale=true.
	ch = pickChallenge(t, res, "WWW-Authenticate", "MD5")
	core.clock.Advance(31 * time.Second)
	res = ua.retry(req, "Authorization", independentDigest(ch, "alice@home1.net", "alice-secret", "REGISTER", "sip:home1.net", "c2"))
	if res.StatusCode != 401 {
		t.Fatalf("expired nonce: %d, want 401", res.StatusCode)
	}
	if ch2 := pickChallenge(t, res, "WWW-Authenticate", "MD5"); !ch2.Stale {
		t.Errorf("expired nonce: challenge without stale=true")
	}
}

func TestRegisterExpiresRefreshAndDeregister(t *testing.T) {
	core := newTestCore(t, func(c *Config) {
		c.MinExpires, c.DefaultExpires, c.MaxExpires = 60*time.Second, 300*time.Second, 900*time.Second
	})
	ua := newTestUA(t, core, "bob", "udp")
	reg := func(expires int, contacts ...sip.Header) *sip.Response {
		req := ua.newRegister("sip:bob@home1.net", expires, contacts...)
		ch := pickChallenge(t, ua.send(req), "WWW-Authenticate", "SHA-256")
		return ua.retry(req, "Authorization", independentDigest(ch, "bob@home1.net", "bob-secret", "REGISTER", "sip:home1.net", "cn"))
	}
	me := ua.contact.Address.HostPort()

	res := reg(30)
	if res.StatusCode != 423 {
		t.Fatalf("Expires 30: %d, want 423", res.StatusCode)
	}
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Fatalf("Min-Expires = %v, want 60", h)
	}
	res = reg(100000)
	if got := contactExpires(t, res)[me]; res.StatusCode != 200 || got != "900" {
		t.Fatalf("Expires 100000: %d, granted %q, want 200 and 900", res.StatusCode, got)
	}
	res = reg(-1) // no Expires header: the default
	if got := contactExpires(t, res)[me]; got != "300" {
		t.Fatalf("no Expires: granted %q, want 300", got)
	}
	// A second contact with its own expires parameter; both are listed.
	second := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: 5999}, Params: sip.NewParams()}
	second.Params.Add("expires", "120")
	res = reg(-1, second)
	got := contactExpires(t, res)
	if len(got) != 2 || got["127.0.0.1:5999"] != "120" || got[me] != "300" {
		t.Fatalf("two contacts: %v", got)
	}
	// The clock runs: the 120 s binding expires first.
	core.clock.Advance(121 * time.Second)
	if bs := core.srv.Location().Lookup("sip:bob@home1.net"); len(bs) != 1 || bs[0].Contact.Address.Port != ua.contact.Address.Port {
		t.Fatalf("after 121 s: %d bindings, want only %s", len(bs), me)
	}
	// A REGISTER without Contact is a query: the bindings are listed, nothing changes.
	q := ua.newRegister("sip:bob@home1.net", -1)
	q.RemoveHeader("Contact")
	ch := pickChallenge(t, ua.send(q), "WWW-Authenticate", "SHA-256")
	res = ua.retry(q, "Authorization", independentDigest(ch, "bob@home1.net", "bob-secret", "REGISTER", "sip:home1.net", "q"))
	if got := contactExpires(t, res); res.StatusCode != 200 || len(got) != 1 || got[me] != "179" {
		t.Fatalf("query: %d %v, want one binding with 179 s left", res.StatusCode, got)
	}
	// Refresh: remaining time is renewed.
	res = reg(600)
	if got := contactExpires(t, res)[me]; got != "600" {
		t.Fatalf("refresh: granted %q, want 600", got)
	}
	// De-register the contact with Expires 0.
	res = reg(0)
	if res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 0 {
		t.Fatalf("de-register: %d with %d contacts", res.StatusCode, len(res.GetHeaders("Contact")))
	}
	// Contact: * needs Expires: 0 ...
	star := &sip.ContactHeader{Address: sip.Uri{Wildcard: true}}
	if res := reg(60, star); res.StatusCode != 400 {
		t.Fatalf("Contact * with Expires 60: %d, want 400", res.StatusCode)
	}
	reg(600)
	reg(600, second)
	if res := reg(0, star); res.StatusCode != 200 {
		t.Fatalf("Contact *: %d", res.StatusCode)
	}
	if n := len(core.srv.Location().Lookup("sip:bob@home1.net")); n != 0 {
		t.Fatalf("after Contact *: %d bindings", n)
	}
}

func TestRegisterCSeqOutOfOrder(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "bob", "udp")
	req := ua.newRegister("sip:bob@home1.net", 600)
	ch := pickChallenge(t, ua.send(req), "WWW-Authenticate", "MD5")
	if res := ua.retry(req, "Authorization", independentDigest(ch, "bob@home1.net", "bob-secret", "REGISTER", "sip:home1.net", "x")); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	// Same Call-ID, lower CSeq: RFC 3261 §10.3 step 7 aborts the update.
	old := ua.newRegister("sip:bob@home1.net", 0)
	ch = pickChallenge(t, ua.send(old), "WWW-Authenticate", "MD5")
	old.RemoveHeader("Authorization")
	old.AppendHeader(sip.NewHeader("Authorization", independentDigest(ch, "bob@home1.net", "bob-secret", "REGISTER", "sip:home1.net", "y")))
	old.CSeq().SeqNo = 1
	if res := ua.send(old); res.StatusCode != 400 {
		t.Fatalf("out-of-order CSeq: %d, want 400", res.StatusCode)
	}
	if n := len(core.srv.Location().Lookup("sip:bob@home1.net")); n != 1 {
		t.Fatalf("binding changed by an out-of-order REGISTER: %d", n)
	}
}

// TestRegisterWithSipgoDigest: sipgo's own DoDigestAuth (icholy/digest, taking the first
// challenge, SHA-256) registers, as a UA built on sipgo will.
func TestRegisterWithSipgoDigest(t *testing.T) {
	core := newTestCore(t, nil)
	ua := newTestUA(t, core, "alice", "udp")
	req := ua.newRegister("sip:alice@home1.net", 600)
	res := ua.send(req)
	if res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := ua.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "alice@home1.net", Password: "alice-secret"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("DoDigestAuth: %v %v", res, err)
	}
	if a := req.GetHeader("Authorization"); a == nil || !strings.Contains(a.Value(), "SHA-256") {
		t.Errorf("sipgo answered %v, want the preferred SHA-256 challenge", a)
	}
}
