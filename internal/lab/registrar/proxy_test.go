package registrar

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func mustRegister(t testing.TB, ua *testUA, impu, impi, password string) {
	t.Helper()
	if res := ua.registerDigest(impu, impi, password, 600, "MD5"); res.StatusCode != 200 {
		t.Fatalf("%s REGISTER: %d", impu, res.StatusCode)
	}
}

// serviceRoute is the preloaded route a UE takes from Service-Route (RFC 3608 §6).
func serviceRoute(core *testCore, tp string) sip.Header {
	u := core.srv.routeURI("orig", tp)
	return &sip.RouteHeader{Address: u}
}

func invite(t *testing.T, from *testUA, to string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	t.Helper()
	var ruri sip.Uri
	if err := sip.ParseUri(to, &ruri); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hdrs = append(hdrs, sip.NewHeader("Content-Type", "application/sdp"), serviceRoute(from.core, from.tp))
	s, err := from.dua.Invite(ctx, ruri, []byte("v=0\r\n"), hdrs...)
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	return s, s.WaitAnswer(ctx, sipgo.AnswerOptions{})
}

func statusOf(t *testing.T, err error) int {
	t.Helper()
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	if err == nil {
		return 200
	}
	t.Fatalf("not a SIP response error: %v", err)
	return 0
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestProxyCallRecordRoute: alice (UDP) calls bob (TCP) through the proxy; ACK, re-INVITE and
// BYE follow the Record-Route, which is doubled across the transport change (RFC 5658).
func TestProxyCallRecordRoute(t *testing.T) {
	core := newTestCore(t, nil)
	alice := newTestUA(t, core, "alice", "udp")
	bob := newTestUA(t, core, "bob", "tcp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(t, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	bob.setOnInvite(func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction) {
		ds.Respond(180, "Ringing", nil)
		ds.Respond(200, "OK", []byte("v=0\r\n"), sip.NewHeader("Content-Type", "application/sdp"))
	})

	s, err := invite(t, alice, "sip:bob@home1.net")
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	invs, _, _, _ := bob.got()
	if len(invs) != 1 {
		t.Fatalf("bob got %d INVITEs", len(invs))
	}
	rr := invs[0].GetHeaders("Record-Route")
	if len(rr) != 2 {
		t.Fatalf("Record-Route at bob: %v, want two entries (UDP in, TCP out)", rr)
	}
	wantPort := ":" + strconv.Itoa(core.port)
	for _, h := range rr {
		if v := h.Value(); !strings.Contains(v, wantPort) || !strings.Contains(v, ";lr") {
			t.Errorf("Record-Route %q does not name the proxy with lr", v)
		}
	}
	if len(invs[0].GetHeaders("Via")) != 2 {
		t.Errorf("INVITE at bob has %d Via, want 2", len(invs[0].GetHeaders("Via")))
	}
	if v := invs[0].GetHeaders("Via")[1].(*sip.ViaHeader); !v.Params.Has("received") {
		t.Errorf("alice's Via lacks received/rport: %s", v.Value())
	}
	if got := len(s.InviteResponse.GetHeaders("Record-Route")); got != 2 {
		t.Errorf("200 OK at alice carries %d Record-Route, want 2", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ACK at bob", func() bool { _, a, _, _ := bob.got(); return len(a) == 1 })
	_, acks, _, _ := bob.got()
	if n := len(acks[0].GetHeaders("Via")); n != 2 {
		t.Errorf("ACK at bob has %d Via, want 2 (it must traverse the proxy)", n)
	}

	// re-INVITE inside the dialog, through the proxy.
	re := sip.NewRequest(sip.INVITE, s.InviteResponse.Contact().Address)
	re.SetBody([]byte("v=0\r\n"))
	re.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res, err := s.Do(ctx, re)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE: %v %v", res, err)
	}
	invs, _, _, _ = bob.got()
	if n := len(invs[1].GetHeaders("Via")); n != 2 {
		t.Errorf("re-INVITE at bob has %d Via, want 2", n)
	}
	ack := sip.NewRequest(sip.ACK, re.Recipient)
	ack.AppendHeader(sip.HeaderClone(re.CSeq()))
	ack.CSeq().MethodName = sip.ACK
	if err := s.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	eventually(t, "re-INVITE ACK at bob", func() bool { _, a, _, _ := bob.got(); return len(a) == 2 })

	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	_, _, byes, _ := bob.got()
	if len(byes) != 1 || len(byes[0].GetHeaders("Via")) != 2 {
		t.Fatalf("BYE at bob: %d, want one through the proxy", len(byes))
	}
}

// TestProxyForking: bob has two contacts; bob2 answers, bob1 (ringing) gets CANCEL.
func TestProxyForking(t *testing.T) {
	core := newTestCore(t, nil)
	alice := newTestUA(t, core, "alice", "udp")
	bob1 := newTestUA(t, core, "bob", "udp")
	bob2 := newTestUA(t, core, "bob", "tcp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(t, bob1, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	mustRegister(t, bob2, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	if n := len(core.srv.Location().Lookup("sip:bob@home1.net")); n != 2 {
		t.Fatalf("bob has %d bindings, want 2", n)
	}
	canceled := make(chan struct{})
	bob1.setOnInvite(func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction) {
		ds.Respond(180, "Ringing", nil)
		tx.OnCancel(func(*sip.Request) { close(canceled) })
		select {
		case <-canceled:
		case <-time.After(5 * time.Second):
		}
	})
	bob2.setOnInvite(func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction) {
		ds.Respond(180, "Ringing", nil)
		time.Sleep(50 * time.Millisecond)
		ds.Respond(200, "OK", []byte("v=0\r\n"), sip.NewHeader("Content-Type", "application/sdp"))
	})
	s, err := invite(t, alice, "sip:bob@home1.net")
	if err != nil {
		t.Fatalf("forked INVITE: %v", err)
	}
	if c := s.InviteResponse.Contact(); c == nil || c.Address.Port != bob2.contact.Address.Port {
		t.Fatalf("answer from %v, want bob2", c)
	}
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("bob1 never got CANCEL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Ack(ctx)
	eventually(t, "ACK at bob2", func() bool { _, a, _, _ := bob2.got(); return len(a) == 1 })
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if _, a, b, _ := bob1.got(); len(a) != 0 || len(b) != 0 {
		t.Errorf("the cancelled branch got %d ACK, %d BYE", len(a), len(b))
	}
}

func TestProxyRefusals(t *testing.T) {
	core := newTestCore(t, nil)
	alice := newTestUA(t, core, "alice", "udp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")

	if _, err := invite(t, alice, "sip:nobody@home1.net"); statusOf(t, err) != 404 {
		t.Errorf("unknown user: %v, want 404", err)
	}
	if _, err := invite(t, alice, "sip:carol@"+core.addr); statusOf(t, err) != 480 {
		t.Errorf("unregistered user at the proxy address: %v, want 480", err)
	}
	if _, err := invite(t, alice, "sip:carol@home1.net"); statusOf(t, err) != 480 {
		t.Errorf("unregistered user: %v, want 480", err)
	}
	// carol is not registered: her INVITE to alice is refused.
	carol := newTestUA(t, core, "carol", "udp")
	if _, err := invite(t, carol, "sip:alice@home1.net"); statusOf(t, err) != 403 {
		t.Errorf("unregistered sender: %v, want 403", err)
	}
	// Max-Forwards 0: 483 (RFC 3261 §16.3 step 3).
	opt := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", User: "alice", Host: testDomain})
	mf := sip.MaxForwardsHeader(0)
	opt.AppendHeader(&mf)
	opt.AppendHeader(serviceRoute(core, "udp"))
	opt.SetTransport("UDP")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := alice.cli.Do(ctx, opt)
	if err != nil || res.StatusCode != 483 {
		t.Errorf("Max-Forwards 0: %v %v, want 483", res, err)
	}
	// Registration expiry on the injected clock: alice's binding lapses, so 480.
	bob := newTestUA(t, core, "bob", "udp")
	mustRegister(t, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	core.clock.Advance(601 * time.Second)
	mustRegister(t, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	if _, err := invite(t, bob, "sip:alice@home1.net"); statusOf(t, err) != 480 {
		t.Errorf("after alice's binding expired: %v, want 480", err)
	}
}

// TestProxySenderDigest: with SenderDigest the proxy challenges with 407; sipgo's own digest
// client (icholy/digest, SHA-256 — the first Proxy-Authenticate) answers it.
func TestProxySenderDigest(t *testing.T) {
	core := newTestCore(t, func(c *Config) { c.Sender = SenderDigest })
	alice := newTestUA(t, core, "alice", "udp")
	bob := newTestUA(t, core, "bob", "udp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(t, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	if _, err := invite(t, alice, "sip:bob@home1.net"); statusOf(t, err) != 407 {
		t.Fatalf("no credentials: %v, want 407", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := alice.dua.Invite(ctx, sip.Uri{Scheme: "sip", User: "bob", Host: testDomain}, []byte("v=0\r\n"),
		sip.NewHeader("Content-Type", "application/sdp"), serviceRoute(core, "udp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "alice@home1.net", Password: "alice-secret"}); err != nil {
		t.Fatalf("INVITE with Proxy-Authorization: %v", err)
	}
	invs, _, _, _ := bob.got()
	if len(invs) != 1 || invs[0].GetHeader("Proxy-Authorization") != nil {
		t.Errorf("bob got %d INVITEs; the proxy must consume its credentials", len(invs))
	}
	s.Ack(ctx)
	s.Bye(ctx)
}

// TestProxyForkingTwo2xx: both contacts answer 200 without a provisional response (so no
// CANCEL may be sent, RFC 3261 §9.1); the proxy forwards both 2xx upstream (§16.7 step 5), and
// the caller sees two dialogs.
func TestProxyForkingTwo2xx(t *testing.T) {
	core := newTestCore(t, nil)
	alice := newTestUA(t, core, "alice", "tcp")
	bob1 := newTestUA(t, core, "bob", "tcp")
	bob2 := newTestUA(t, core, "bob", "tcp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(t, bob1, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	mustRegister(t, bob2, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	answer := func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction) {
		ds.Respond(200, "OK", []byte("v=0\r\n"), sip.NewHeader("Content-Type", "application/sdp"))
	}
	bob1.setOnInvite(answer)
	bob2.setOnInvite(answer)

	inv := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "bob", Host: testDomain})
	inv.AppendHeader(serviceRoute(core, "tcp"))
	inv.AppendHeader(alice.contact.Clone())
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody([]byte("v=0\r\n"))
	inv.SetTransport("TCP")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tx, err := alice.cli.TransactionRequest(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	oks := make(chan *sip.Response, 4)
	tx.OnRetransmission(func(r *sip.Response) { oks <- r })
	tags := map[string]bool{}
	for len(tags) < 2 {
		select {
		case r := <-tx.Responses():
			if r.StatusCode == 200 {
				oks <- r
			} else if r.StatusCode >= 300 {
				t.Fatalf("final %d", r.StatusCode)
			}
		case r := <-oks:
			tag, _ := r.To().Params.Get("tag")
			tags[tag] = true
		case <-ctx.Done():
			t.Fatalf("saw %d distinct 2xx, want 2", len(tags))
		}
	}
	if _, _, _, c := bob1.got(); c != 0 {
		t.Errorf("bob1 got CANCEL before any provisional response")
	}
	if _, _, _, c := bob2.got(); c != 0 {
		t.Errorf("bob2 got CANCEL before any provisional response")
	}
}

// TestProxyUpstreamCancel: the caller gives up while bob rings; the proxy's CANCEL reaches bob
// (§16.10) and the caller gets 487.
func TestProxyUpstreamCancel(t *testing.T) {
	core := newTestCore(t, nil)
	alice := newTestUA(t, core, "alice", "udp")
	bob := newTestUA(t, core, "bob", "tcp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(t, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	ringing := make(chan struct{})
	bobCanceled := make(chan struct{})
	bob.setOnInvite(func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction) {
		tx.OnCancel(func(*sip.Request) { close(bobCanceled) })
		ds.Respond(180, "Ringing", nil)
		close(ringing)
		select {
		case <-bobCanceled:
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := alice.dua.Invite(ctx, sip.Uri{Scheme: "sip", User: "bob", Host: testDomain}, []byte("v=0\r\n"),
		sip.NewHeader("Content-Type", "application/sdp"), serviceRoute(core, "udp"))
	if err != nil {
		t.Fatal(err)
	}
	ringCtx, stopRinging := context.WithCancel(ctx)
	got180 := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.WaitAnswer(ringCtx, sipgo.AnswerOptions{OnResponse: func(r *sip.Response) error {
			if r.StatusCode == 180 {
				select {
				case got180 <- struct{}{}:
				default:
				}
			}
			return nil
		}})
	}()
	<-ringing
	select {
	case <-got180:
	case <-time.After(5 * time.Second):
		t.Fatal("no 180 at alice")
	}
	stopRinging() // sipgo sends CANCEL
	select {
	case <-bobCanceled:
	case <-time.After(5 * time.Second):
		t.Fatal("bob never got the CANCEL")
	}
	if err := <-done; err == nil {
		t.Fatal("cancelled INVITE answered")
	}
	invs, acks, _, _ := bob.got()
	if len(invs) != 1 {
		t.Fatalf("bob: %d INVITEs", len(invs))
	}
	// The only ACK bob may see is the proxy's hop-by-hop ACK for the 487 (same branch as the
	// INVITE, RFC 3261 §17.1.1.3); it reaches the handler when bob's transaction has ended.
	ib, _ := invs[0].Via().Params.Get("branch")
	for _, a := range acks {
		if ab, _ := a.Via().Params.Get("branch"); ab != ib {
			t.Errorf("bob got an end-to-end ACK (branch %s) for a cancelled INVITE", ab)
		}
	}
}

// TestProxyLargeRequestOverTCP: an INVITE over 1300 octets for a UE registered over UDP is
// forwarded over TCP to its Contact's address, with the proxy's Via saying TCP (RFC 3261
// §18.1.1); the Record-Route still names UDP towards it (doubled, as alice came over TCP), so
// its small BYE comes back over UDP; a small INVITE goes over UDP.
func TestProxyLargeRequestOverTCP(t *testing.T) {
	core := newTestCore(t, nil)
	alice := newTestUA(t, core, "alice", "tcp")
	bob := newTestUA(t, core, "bob", "udp+tcp")
	mustRegister(t, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(t, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")

	big := sip.NewHeader("X-Padding", strings.Repeat("x", 1400))
	s, err := invite(t, alice, "sip:bob@home1.net", big)
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	invs, _, _, _ := bob.got()
	if len(invs) != 1 {
		t.Fatalf("bob got %d INVITEs", len(invs))
	}
	if tp := invs[0].Transport(); tp != "TCP" || invs[0].Via().Transport != "TCP" || len(invs[0].String()) <= udpRequestLimit {
		t.Fatalf("large INVITE at bob over %s, top Via %s, %d octets", tp, invs[0].Via().Transport, len(invs[0].String()))
	}
	rr := invs[0].GetHeaders("Record-Route")
	if len(rr) != 2 || strings.Contains(rr[0].Value(), "transport=") || !strings.Contains(rr[1].Value(), "transport=tcp") {
		t.Fatalf("Record-Route at bob %v, want UDP towards bob, TCP towards alice", rr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ACK at bob", func() bool { _, a, _, _ := bob.got(); return len(a) == 1 })
	_, acks, _, _ := bob.got()
	if tp := acks[0].Transport(); tp != "UDP" {
		t.Fatalf("small ACK at bob over %s", tp)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}

	s2, err := invite(t, alice, "sip:bob@home1.net")
	if err != nil {
		t.Fatalf("small INVITE: %v", err)
	}
	invs, _, _, _ = bob.got()
	if tp := invs[1].Transport(); tp != "UDP" {
		t.Fatalf("small INVITE at bob over %s", tp)
	}
	s2.Ack(ctx)
	s2.Bye(ctx)
}
