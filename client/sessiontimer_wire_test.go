package client

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// timerUAS is a bare UDP UAS on loopback for the session timer tests: it answers each new
// INVITE with what answerInvite says (a 422 or a 2xx with extra headers), answers re-INVITEs
// with 200 and an SDP answer (with reinviteHdrs) unless ignoreReinvites, BYE with 200, and
// records every request it got (retransmissions once).
type timerUAS struct {
	t         *testing.T
	conn, rtp *net.UDPConn
	// answerInvite returns the status and extra header lines for the n-th new INVITE (from 1).
	answerInvite    func(n int, req *sip.Request) (int, []string)
	reinviteHdrs    []string
	ignoreReinvites atomic.Bool

	mu     sync.Mutex
	reqs   []*sip.Request
	seen   map[string]bool
	newInv int
	got    chan struct{}
}

func newTimerUAS(t *testing.T, answer func(n int, req *sip.Request) (int, []string)) *timerUAS {
	t.Helper()
	conn := listenUDP(t)
	rtpConn := listenUDP(t)
	u := &timerUAS{t: t, conn: conn, rtp: rtpConn, answerInvite: answer, seen: map[string]bool{}, got: make(chan struct{}, 256)}
	serveRequests(t, conn, "timer UAS", false, u.handle)
	return u
}

func (u *timerUAS) sdp(version int) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", version, u.rtp.LocalAddr().(*net.UDPAddr).Port))
}

func (u *timerUAS) handle(req *sip.Request, from *net.UDPAddr) {
	key := string(req.Method)
	if v := req.Via(); v != nil {
		b, _ := v.Params.Get("branch")
		key += b
	}
	u.mu.Lock()
	again := u.seen[key]
	u.seen[key] = true
	if !again {
		u.reqs = append(u.reqs, req)
	}
	reinvite := req.To() != nil && req.To().Params.Has("tag")
	if req.Method == sip.INVITE && !reinvite && !again {
		u.newInv++
	}
	n := u.newInv
	u.mu.Unlock()
	if again && req.Method != sip.INVITE {
		return
	}
	select {
	case u.got <- struct{}{}:
	default:
	}
	var res *sip.Response
	switch {
	case req.Method == sip.INVITE && !reinvite:
		code, hdrs := u.answerInvite(n, req)
		var body []byte
		if code == 200 {
			body = u.sdp(1)
		}
		res = u.response(req, code, body, hdrs)
	case req.Method == sip.INVITE:
		if u.ignoreReinvites.Load() {
			return
		}
		res = u.response(req, 200, u.sdp(2+len(u.requests(sip.INVITE))), u.reinviteHdrs)
	case req.Method == sip.BYE:
		res = u.response(req, 200, nil, nil)
	default:
		return
	}
	u.conn.WriteToUDP([]byte(res.String()), from)
}

func (u *timerUAS) response(req *sip.Request, code int, body []byte, hdrs []string) *sip.Response {
	reason := map[int]string{200: "OK", 422: "Session Interval Too Small"}[code]
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if !res.To().Params.Has("tag") {
		res.To().Params.Add("tag", "uas")
	}
	a := u.conn.LocalAddr().(*net.UDPAddr)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: "127.0.0.1", Port: a.Port}})
	for _, h := range hdrs {
		name, value, _ := strings.Cut(h, ":")
		res.AppendHeader(sip.NewHeader(name, strings.TrimSpace(value)))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

// requests returns the requests of method received so far (re-INVITEs have a To-tag).
func (u *timerUAS) requests(method sip.RequestMethod) []*sip.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*sip.Request
	for _, r := range u.reqs {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

func reinvites(rs []*sip.Request) []*sip.Request {
	var out []*sip.Request
	for _, r := range rs {
		if r.To().Params.Has("tag") {
			out = append(out, r)
		}
	}
	return out
}

// waitUntil waits for cond, re-checked on each request the UAS receives (limit).
func (u *timerUAS) waitUntil(what string, limit time.Duration, cond func() bool) {
	u.t.Helper()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-u.got:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			u.t.Fatalf("%s: not within %v (%d INVITEs, %d BYEs)", what, limit, len(u.requests(sip.INVITE)), len(u.requests(sip.BYE)))
		}
	}
}

func (u *timerUAS) target() string { return fmt.Sprintf("sip:bob@%s", u.conn.LocalAddr()) }

func header(m headers, name string) string {
	if hs := m.GetHeaders(name); len(hs) > 0 {
		return hs[0].Value()
	}
	return ""
}

// The UAC side on the wire (RFC 4028 §7.1, §7.4, §7.2): the INVITE carries Supported: timer
// and Session-Expires without refresher, and no Min-SE at the default 90 s; a 422 with
// Min-SE 2000 brings one new INVITE of the same call (Call-ID, From-tag, CSeq + 1) asking
// 2000 s with Min-SE: 2000; the 2xx's Session-Expires with refresher=uas makes the UAS the
// refresher at its interval.
func TestSessionTimerUACNegotiation422(t *testing.T) {
	uas := newTimerUAS(t, func(n int, req *sip.Request) (int, []string) {
		if n == 1 {
			return 422, []string{"Min-SE: 2000"}
		}
		return 200, []string{"Require: timer", "Session-Expires: 2000;refresher=uas"}
	})
	a := newPhoneCfg(t, Config{User: "alice", SessionExpires: 1800 * time.Second})
	ca, err := a.Dial(context.Background(), uas.target(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 10*time.Second)
	invs := uas.requests(sip.INVITE)
	if len(invs) != 2 {
		t.Fatalf("%d INVITEs", len(invs))
	}
	first, second := invs[0], invs[1]
	if !supportsTimer(first) || header(first, "Session-Expires") != "1800" || header(first, "Min-SE") != "" {
		t.Fatalf("first INVITE: Supported %q Session-Expires %q Min-SE %q", header(first, "Supported"), header(first, "Session-Expires"), header(first, "Min-SE"))
	}
	if !supportsTimer(second) || header(second, "Session-Expires") != "2000" || header(second, "Min-SE") != "2000" {
		t.Fatalf("retry: Session-Expires %q Min-SE %q", header(second, "Session-Expires"), header(second, "Min-SE"))
	}
	ft, _ := first.From().Params.Get("tag")
	st, _ := second.From().Params.Get("tag")
	if first.CallID().Value() != second.CallID().Value() || ft != st || second.CSeq().SeqNo != first.CSeq().SeqNo+1 {
		t.Fatalf("retry not in the same call: Call-ID %s/%s tag %s/%s CSeq %d/%d", first.CallID().Value(), second.CallID().Value(),
			ft, st, first.CSeq().SeqNo, second.CSeq().SeqNo)
	}
	sess := sessionOf(ca)
	interval, we := sess.interval, sess.refresher
	if interval != 2000*time.Second || we {
		t.Fatalf("agreed %v, we refresh %v", interval, we)
	}
	if err := ca.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A second 422, or one whose Min-SE is not above what we asked, ends the call with it.
func TestSessionTimerUAC422Twice(t *testing.T) {
	uas := newTimerUAS(t, func(n int, req *sip.Request) (int, []string) {
		return 422, []string{fmt.Sprintf("Min-SE: %d", 1000*(n+1))}
	})
	a := newPhoneCfg(t, Config{User: "alice", SessionExpires: 1800 * time.Second})
	ca, err := a.Dial(context.Background(), uas.target(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, ca); e.By != Remote || e.Code != 422 {
		t.Fatalf("ended %v", e)
	}
	if n := len(uas.requests(sip.INVITE)); n != 2 {
		t.Fatalf("%d INVITEs, want 2", n)
	}
}

// The UAS side on the wire (RFC 4028 §9), for INVITEs from a bare UAC: too small with
// Supported: timer → 422 with our Min-SE; a longer interval is lowered to ours with the
// refresher left to the UAC (Require: timer whenever the UAC supports timers); too small without
// support → raised to our Min-SE, we refresh, no Require; malformed → 400 naming the header.
func TestSessionTimerUASNegotiation(t *testing.T) {
	b := newPhoneCfg(t, Config{User: "bob", SessionExpires: 1800 * time.Second, MinSE: 120 * time.Second, AutoAnswer: &CallOptions{}})
	for i, tc := range []struct {
		hdrs       string
		code       int
		se, minSE  string
		require    bool
		weRefresh  bool
		warningHas string
	}{
		{"Supported: timer\r\nSession-Expires: 100\r\n", 422, "", "120", false, false, ""},
		{"Supported: timer\r\nSession-Expires: 3600\r\n", 200, "1800;refresher=uac", "", true, false, ""},
		{"Supported: timer\r\nSession-Expires: 1000;refresher=uas\r\nMin-SE: 1000\r\n", 200, "1000;refresher=uas", "", true, true, ""},
		{"Session-Expires: 100\r\n", 200, "120;refresher=uas", "", false, true, ""},
		{"k: timer\r\n", 200, "1800;refresher=uac", "", true, false, ""},
		{"Supported: timer\r\nSession-Expires: abc\r\n", 400, "", "", false, false, "Session-Expires"},
		{"Supported: timer\r\nSession-Expires: 1800\r\nMin-SE: 0\r\n", 400, "", "", false, false, "Min-SE"},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			uac := newRawUAC(t, b)
			me := uac.conn.LocalAddr().String()
			const sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
				"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
			bu := b.URI()
			callID := fmt.Sprintf("st-uas-%d", i)
			uac.send(fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKst%d\r\nMax-Forwards: 70\r\n"+
				"From: <sip:carol@%s>;tag=c1\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n%s"+
				"Contact: <sip:carol@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
				bu.String(), me, i, me, bu.String(), callID, tc.hdrs, me, len(sdp), sdp))
			res := uac.response(tc.code)
			if got := header(res, "Session-Expires"); got != tc.se {
				t.Errorf("Session-Expires %q, want %q", got, tc.se)
			}
			if got := header(res, "Min-SE"); got != tc.minSE {
				t.Errorf("Min-SE %q, want %q", got, tc.minSE)
			}
			if got := header(res, "Require") == "timer"; got != tc.require {
				t.Errorf("Require %q", header(res, "Require"))
			}
			if w := header(res, "Warning"); !strings.Contains(w, tc.warningHas) {
				t.Errorf("Warning %q, want %q in it", w, tc.warningHas)
			}
			if tc.code != 200 {
				// The ACK of a non-2xx final response is in its INVITE's transaction (RFC 3261
				// §17.1.1.3: same branch, the response's To).
				uac.send(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKst%d\r\nMax-Forwards: 70\r\n"+
					"From: <sip:carol@%s>;tag=c1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
					bu.String(), me, i, me, res.To().Value(), callID))
				return
			}
			var cb *Call
			b.mu.Lock()
			for c := range b.calls {
				if c.CallID == callID {
					cb = c
				}
			}
			b.mu.Unlock()
			if cb == nil {
				t.Fatal("no call")
			}
			we := sessionOf(cb).refresher
			if we != tc.weRefresh {
				t.Errorf("we refresh %v, want %v", we, tc.weRefresh)
			}
			cb.end(Local, 0, "test over", "")
		})
	}
}

// The peer answers as refresher (refresher=uas, 3 s) and then never refreshes: at 3 s less
// min(32 s, 1 s) we send BYE with Reason: SIP;cause=408 and the call ends By Local
// (RFC 4028 §10, RFC 3326).
func TestSessionTimerExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	uas := newTimerUAS(t, func(int, *sip.Request) (int, []string) {
		return 200, []string{"Require: timer", "Session-Expires: 3;refresher=uas"}
	})
	a := newPhoneCfg(t, Config{User: "alice", SessionExpires: 2 * time.Second, MinSE: time.Second, sessionFloor: time.Second})
	ca, err := a.Dial(context.Background(), uas.target(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 5*time.Second)
	answered := time.Now()
	e := waitEndedWithin(t, ca, 10*time.Second)
	if el := time.Since(answered); el < 3*time.Second/2 {
		t.Fatalf("ended after %v, before the 2 s expiry", el)
	}
	if e.By != Local || e.Reason != "session timer expired" {
		t.Fatalf("ended %v", e)
	}
	uas.waitUntil("BYE", 5*time.Second, func() bool { return len(uas.requests(sip.BYE)) == 1 })
	if r := header(uas.requests(sip.BYE)[0], "Reason"); r != `SIP;cause=408;text="Session timer expired"` {
		t.Fatalf("BYE Reason %q", r)
	}
	if n := len(reinvites(uas.requests(sip.INVITE))); n != 0 {
		t.Fatalf("%d re-INVITEs sent though the peer refreshes", n)
	}
}

// A peer without session timers (no Session-Expires in its 2xx): we refresh at half our
// interval (RFC 4028 §7.2), with Session-Expires: 2;refresher=uac (§7.4), and the call
// stays up.
func TestSessionTimerPeerWithoutTimers(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	uas := newTimerUAS(t, func(int, *sip.Request) (int, []string) { return 200, nil })
	a := newPhoneCfg(t, Config{User: "alice", SessionExpires: 2 * time.Second, MinSE: time.Second, sessionFloor: time.Second})
	ca, err := a.Dial(context.Background(), uas.target(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 5*time.Second)
	uas.waitUntil("3 refreshes", 8*time.Second, func() bool { return len(reinvites(uas.requests(sip.INVITE))) >= 3 })
	for _, r := range reinvites(uas.requests(sip.INVITE)) {
		if se := header(r, "Session-Expires"); se != "2;refresher=uac" || !supportsTimer(r) || header(r, "Min-SE") != "1" {
			t.Fatalf("refresh with Session-Expires %q Supported %q Min-SE %q", se, header(r, "Supported"), header(r, "Min-SE"))
		}
	}
	select {
	case <-ca.Done():
		t.Fatalf("call ended: %v", ca.Ended())
	default:
	}
	if err := ca.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(uas.requests(sip.BYE)); n != 1 {
		t.Fatalf("%d BYEs", n)
	}
}

// A peer that stops answering refreshes: our refresh fails and the call expires (§10).
func TestSessionTimerRefreshUnanswered(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	uas := newTimerUAS(t, func(int, *sip.Request) (int, []string) { return 200, nil })
	uas.ignoreReinvites.Store(true)
	a := newPhoneCfg(t, Config{User: "alice", SessionExpires: 3 * time.Second, MinSE: time.Second, sessionFloor: time.Second})
	ca, err := a.Dial(context.Background(), uas.target(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 5*time.Second)
	e := waitEndedWithin(t, ca, 10*time.Second)
	if e.By != Local || e.Reason != "session timer expired" {
		t.Fatalf("ended %v", e)
	}
	if n := len(reinvites(uas.requests(sip.INVITE))); n < 1 {
		t.Fatal("no refresh was tried")
	}
	uas.waitUntil("BYE", 5*time.Second, func() bool { return len(uas.requests(sip.BYE)) == 1 })
}

func waitEndedWithin(t testing.TB, c *Call, limit time.Duration) Event {
	t.Helper()
	select {
	case <-c.Done():
		return c.Ended()
	case <-time.After(limit):
		t.Fatal("call did not end")
	}
	return Event{}
}

// A refresh re-INVITE from the peer (RFC 4028 §9, §10): our 2xx to it carries the interval
// and refresher agreed, with Require: timer, and restarts our timer.
func TestSessionTimerUASRefreshAnswer(t *testing.T) {
	b := newPhoneCfg(t, Config{User: "bob", SessionExpires: 1800 * time.Second, AutoAnswer: &CallOptions{}})
	uac := newRawUAC(t, b)
	me := uac.conn.LocalAddr().String()
	bu := b.URI()
	sdp := func(v int) string {
		return fmt.Sprintf("v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", v)
	}
	send := func(method string, cseq int, toTag, hdrs, body string) {
		to := "<" + bu.String() + ">"
		if toTag != "" {
			to += ";tag=" + toTag
		}
		ct := ""
		if body != "" {
			ct = "Content-Type: application/sdp\r\n"
		}
		uac.send(fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKstr%s%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:carol@%s>;tag=c1\r\nTo: %s\r\nCall-ID: st-refresh\r\nCSeq: %d %s\r\n%s"+
			"Contact: <sip:carol@%s>\r\n%sContent-Length: %d\r\n\r\n%s",
			method, bu.String(), me, method, cseq, me, to, cseq, method, hdrs, me, ct, len(body), body))
	}
	send("INVITE", 1, "", "Supported: timer\r\nSession-Expires: 1800\r\n", sdp(1))
	ok := uac.response(200)
	tag, _ := ok.To().Params.Get("tag")
	if se := header(ok, "Session-Expires"); se != "1800;refresher=uac" {
		t.Fatalf("2xx Session-Expires %q", se)
	}
	send("ACK", 1, tag, "", "")
	cb := incomingCall(t, b)
	waitFor(t, cb, EventAnswered, 5*time.Second)
	gen := sessionOf(cb).gen
	send("INVITE", 2, tag, "Supported: timer\r\nSession-Expires: 1800;refresher=uac\r\n", sdp(2))
	res := uac.response(200)
	for res.CSeq().SeqNo != 2 { // a retransmitted 2xx of the INVITE may come first
		res = uac.response(200)
	}
	send("ACK", 2, tag, "", "")
	if se, req := header(res, "Session-Expires"), header(res, "Require"); se != "1800;refresher=uac" || req != "timer" {
		t.Fatalf("re-INVITE 2xx: Session-Expires %q Require %q", se, req)
	}
	regen, we := sessionOf(cb).gen, sessionOf(cb).refresher
	if regen != gen+1 || we {
		t.Fatalf("timer generation %d → %d, we refresh %v", gen, regen, we)
	}
	cb.end(Local, 0, "test over", "")
}
