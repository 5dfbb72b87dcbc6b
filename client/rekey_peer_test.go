package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v2"
)

// rawPeer is a hand-made SDES UAS on loopback: it answers the phone's INVITE with keymgmt and
// sdpoa directly, answers re-INVITEs with reinvite (nil: 488), sends re-INVITEs of its own, and
// moves SRTP by hand with pion/srtp, so that a test controls every line and packet.
type rawPeer struct {
	t        *testing.T
	neg      *keymgmt.Negotiator
	ua       *sipgo.UserAgent
	cli      *sipgo.Client
	conn     net.PacketConn
	media    *net.UDPConn
	invite   chan *sip.Request // the phone's INVITE
	first    *sip.Request      // the same, once received
	keys     *keymgmt.Keys
	phoneRTP netip.AddrPort
	pt       uint8
	origin   sdpoa.Origin
	reinvite atomic.Pointer[func(req *sip.Request, tx sip.ServerTransaction)] // nil: 488
	gotACK   chan struct{}
}

func newRawPeer(t *testing.T) *rawPeer {
	t.Helper()
	neg, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory, AllowSDESWithoutTLS: true}, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, neg: neg, invite: make(chan *sip.Request, 1), gotACK: make(chan struct{}, 4),
		origin: sdpoa.Origin{Username: "-", SessionID: 7, SessionVersion: 1, Address: netip.MustParseAddr("127.0.0.1")}}
	if p.media, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.media.Close() })
	if p.conn, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.conn.Close() })
	p.ua, _ = sipgo.NewUA()
	t.Cleanup(func() { p.ua.Close() })
	p.cli, err = sipgo.NewClient(p.ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(p.ua)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.To().Params.Has("tag") {
			h := p.reinvite.Load()
			if h == nil {
				tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
				return
			}
			(*h)(req, tx)
			return
		}
		p.answer(req, tx)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { p.gotACK <- struct{}{} })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go srv.ServeUDP(p.conn)
	for ; ; time.Sleep(time.Millisecond) {
		if c, _ := p.ua.TransportLayer().GetConnection("udp", p.conn.LocalAddr().String()); c != nil {
			break
		}
	}
	return p
}

func (p *rawPeer) uri() string { return "sip:bob@" + p.conn.LocalAddr().String() }

func (p *rawPeer) answer(req *sip.Request, tx sip.ServerTransaction) {
	offer, err := sdpoa.Parse(req.Body())
	if err != nil {
		p.t.Error(err)
		return
	}
	idx, err := sdpoa.SelectAudio(offer, sdpoa.Local{})
	if err != nil {
		p.t.Error(err)
		return
	}
	om := &offer.Media[idx]
	lines, keys, err := p.neg.Answer(context.Background(), om.Protected(), keymgmt.Lines{Session: offer.Attributes, Media: om.Attributes},
		keymgmt.Stream{Local: "sip:bob@127.0.0.1", Remote: req.From().Address.String()})
	if err != nil {
		p.t.Error(err)
		return
	}
	ans, n, err := sdpoa.Answer(offer, p.origin, sdpoa.Local{Addr: addrOf(p.media), RTCPMux: true, Attributes: lines.Media})
	if err != nil {
		p.t.Error(err)
		return
	}
	body, _ := ans.Marshal()
	res := sip.NewSDPResponseFromRequest(req, body)
	res.To().Params.Add("tag", "uas-tag")
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: p.conn.LocalAddr().(*net.UDPAddr).Port}})
	p.keys, p.phoneRTP, p.pt, p.first = keys, om.Addr, n.Codec.PT, req
	p.invite <- req
	tx.Respond(res)
}

// srtpPackets protects count RTP packets from ssrc with k (ROC 0, a fresh context) starting at
// sequence number seq.
func srtpPackets(t *testing.T, k keymgmt.SRTP, ssrc uint32, pt uint8, seq uint16, count int) [][]byte {
	t.Helper()
	tx, err := srtp.CreateContext(k.MasterKey, k.MasterSalt, k.Profile)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := range count {
		pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq + uint16(i), Timestamp: uint32(160 * (int(seq) + i)), SSRC: ssrc},
			Payload: bytes.Repeat([]byte{0xff}, 160)}
		raw, _ := pk.Marshal()
		enc, err := tx.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, enc)
	}
	return out
}

// decryptsFrom reads RTP from conn until a packet opens with k (a fresh receive context, so
// ROC 0) or the deadline passes; RTCP (PT 200-204 with RTCP-mux) is skipped.
func decryptsFrom(t *testing.T, conn *net.UDPConn, k keymgmt.SRTP, within time.Duration) bool {
	t.Helper()
	rx, err := srtp.CreateContext(k.MasterKey, k.MasterSalt, k.Profile)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	conn.SetReadDeadline(time.Now().Add(within))
	defer conn.SetReadDeadline(time.Time{})
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return false
		}
		if n < 12 || (buf[1]&0x7f >= 72 && buf[1]&0x7f <= 76) {
			continue
		}
		if _, err := rx.DecryptRTP(nil, buf[:n], nil); err == nil {
			return true
		}
	}
}

// dialRawPeer places a call from a new phone to a raw peer and waits until it is answered.
func dialRawPeer(t *testing.T, klog *lockedBuffer) (*Phone, *rawPeer, *Call) {
	t.Helper()
	peer := newRawPeer(t)
	a := keyLogPhone(t, "alice", klog, nil)
	call, err := a.Dial(context.Background(), peer.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-peer.invite:
	case <-time.After(5 * time.Second):
		t.Fatal("no INVITE at the peer")
	}
	waitFor(t, call, EventAnswered, 5*time.Second)
	return a, peer, call
}

// mediaUp sends the phone 5 SRTP packets of ssrc from sequence number 100, under the peer's key,
// and waits for the call's EventMediaUp.
func (p *rawPeer) mediaUp(call *Call, ssrc uint32) {
	p.t.Helper()
	for _, pkt := range srtpPackets(p.t, p.keys.Send, ssrc, p.pt, 100, 5) {
		p.media.WriteTo(pkt, net.UDPAddrFromAddrPort(p.phoneRTP))
	}
	waitFor(p.t, call, EventMediaUp, 5*time.Second)
}

// reoffer is the peer's re-offer of the call's codec from media's address, with direction dir
// and the key lines attrs: the offer and its body.
func (p *rawPeer) reoffer(call *Call, media *net.UDPConn, dir sdpoa.Direction, attrs []sdpoa.Attribute) (*sdpoa.Session, []byte) {
	p.t.Helper()
	p.origin.SessionVersion++
	o := sdpoa.NewOffer(p.origin, sdpoa.Local{Addr: addrOf(media), RTCPMux: true, Proto: sdpoa.ProtoSAVP,
		Formats: []sdpoa.Format{call.Negotiated().Codec}, Direction: dir, Attributes: attrs}, nil)
	body, err := o.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	return o, body
}

// A rekey the peer refuses (488) fails Rekey with the status, leaves the call's keys as they
// were, and the media goes on with them both ways: the peer still opens our packets with the
// old key, and ours still authenticate its old-key packets.
func TestRekeyRefused(t *testing.T) {
	var klog lockedBuffer
	_, peer, call := dialRawPeer(t, &klog)
	const peerSSRC = 0x0b0b0b0b
	peer.mediaUp(call, peerSSRC)
	before := call.Keys()
	lines := strings.Count(klog.String(), "\n")

	err := call.Rekey(context.Background())
	if err == nil || !strings.Contains(err.Error(), "488") {
		t.Fatalf("Rekey against a 488: %v", err)
	}
	t.Logf("Rekey: %v", err)
	if call.Keys() != before {
		t.Fatal("keys changed after a refused rekey")
	}
	if n := strings.Count(klog.String(), "\n"); n != lines {
		t.Fatalf("key log grew from %d to %d lines after a refused rekey", lines, n)
	}
	if !decryptsFrom(t, peer.media, peer.keys.Recv, 3*time.Second) {
		t.Fatal("the peer cannot open our packets with the old key after the refused rekey")
	}
	st0, _ := call.Stats()
	for _, pkt := range srtpPackets(t, peer.keys.Send, peerSSRC, peer.pt, 105, 5) {
		peer.media.WriteTo(pkt, net.UDPAddrFromAddrPort(peer.phoneRTP))
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, _ := call.Stats()
		if st.PacketsReceived >= st0.PacketsReceived+5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d packets after the refused rekey, want 5", st.PacketsReceived-st0.PacketsReceived)
		}
	}
	if st, _ := call.Stats(); st.SRTPAuthFailures != 0 {
		t.Fatalf("%d SRTP auth failures", st.SRTPAuthFailures)
	}
	call.Hangup(context.Background())
}

// reinviteFromPeer sends the phone an in-dialog re-INVITE with body (the peer is the UAS of the
// dialog, so its From is the call's To) and ACKs a 2xx; it returns the final response.
func (p *rawPeer) reinviteFromPeer(first *sip.Request, cseq uint32, body []byte) *sip.Response {
	p.t.Helper()
	res, ack := p.reinviteFromPeerAckLater(first, cseq, body)
	if ack != nil {
		ack()
	}
	return res
}

// reinviteFromPeerAckLater is reinviteFromPeer that leaves the ACK of a 2xx to the caller: ack
// sends it (nil for a non-2xx, whose ACK the transaction layer sent).
func (p *rawPeer) reinviteFromPeerAckLater(first *sip.Request, cseq uint32, body []byte) (res *sip.Response, ack func()) {
	p.t.Helper()
	contact := first.Contact().Address
	req := sip.NewRequest(sip.INVITE, *contact.Clone())
	from := first.To().AsFrom()
	from.Params = from.Params.Clone()
	from.Params.Add("tag", "uas-tag")
	req.AppendHeader(&from)
	to := first.From().AsTo()
	req.AppendHeader(&to)
	req.AppendHeader(first.CallID())
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.INVITE})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: p.conn.LocalAddr().(*net.UDPAddr).Port}})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, req)
	if err != nil {
		p.t.Fatal(err)
	}
	if !res.IsSuccess() {
		return res, nil
	}
	return res, func() {
		ack := sip.NewRequest(sip.ACK, *contact.Clone())
		ack.AppendHeader(sip.HeaderClone(req.From()))
		ack.AppendHeader(sip.HeaderClone(res.To()))
		ack.AppendHeader(sip.HeaderClone(req.CallID()))
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.ACK})
		if err := p.cli.WriteRequest(ack); err != nil {
			p.t.Error(err)
		}
	}
}

// The peer puts the call on hold and takes it off again, and its ACK for our 2xx to the hold
// arrives after the resume re-INVITE (as when a large re-INVITE goes by TCP and its ACK by UDP,
// RFC 3261 §18.1.1). Our answer completed the hold's offer/answer exchange (RFC 3264 §4) and
// the peer sent that ACK before its next INVITE (§13.2.2.4), so the resume is answered 200, not
// 491 (§14.2 keeps 491 for glare with our own re-INVITE); the late ACK changes nothing.
func TestPeerReinviteBeforeACK(t *testing.T) {
	var klog lockedBuffer
	_, peer, call := dialRawPeer(t, &klog)
	peer.mediaUp(call, 0x0d0d0d0d)
	keep := peer.neg.Reoffer(peer.keys).Lines().Media
	_, holdBody := peer.reoffer(call, peer.media, sdpoa.SendOnly, keep)
	hold, lateACK := peer.reinviteFromPeerAckLater(peer.first, 1, holdBody)
	if hold.StatusCode != 200 || lateACK == nil {
		t.Fatalf("hold: %s", hold.StartLine())
	}
	_, resumeBody := peer.reoffer(call, peer.media, sdpoa.SendRecv, keep)
	resume := peer.reinviteFromPeer(peer.first, 2, resumeBody)
	if resume.StatusCode != 200 {
		t.Fatalf("resume before the hold's ACK: %s %v", resume.StartLine(), resume.GetHeader("Warning"))
	}
	lateACK()
	ans, err := sdpoa.Parse(resume.Body())
	if err != nil {
		t.Fatal(err)
	}
	if d := ans.Media[0].Direction; d != sdpoa.SendRecv {
		t.Fatalf("answer to the resume is %v", d)
	}
	if err := call.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The peer re-offers with a new key and a new media address (a B2BUA or SBC moving the media,
// RFC 4568 §7.1.4: a new address MUST come with a new key). The phone answers 200 with a new
// key of its own, writes the new key log lines, reports the rekey, and the media continues on
// the new keys: the phone opens the peer's new-key packets and the peer opens the phone's.
func TestPeerRekeyNewAddress(t *testing.T) {
	var klog lockedBuffer
	_, peer, call := dialRawPeer(t, &klog)
	const peerSSRC = 0x0c0c0c0c
	peer.mediaUp(call, peerSSRC)
	keyLines(t, &klog, 2)
	oldKeys := call.Keys()

	// A re-offer with the same key but a new address is refused (RFC 4568 §7.1.4).
	media2, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media2.Close()
	first := peer.first
	_, body := peer.reoffer(call, media2, sdpoa.SendRecv, peer.neg.Reoffer(peer.keys).Lines().Media)
	if res := peer.reinviteFromPeer(first, 1, body); res.StatusCode != 488 {
		t.Fatalf("new address with the old key: %s", res.StartLine())
	}

	off, err := peer.neg.RekeyOffer(context.Background(), peer.keys, keymgmt.Stream{})
	if err != nil {
		t.Fatal(err)
	}
	offer, body := peer.reoffer(call, media2, sdpoa.SendRecv, off.Lines().Media)
	res := peer.reinviteFromPeer(first, 2, body)
	if res.StatusCode != 200 {
		t.Fatalf("rekey re-INVITE: %s %v", res.StartLine(), res.GetHeader("Warning"))
	}
	ans, err := sdpoa.Parse(res.Body())
	if err != nil {
		t.Fatal(err)
	}
	n, err := sdpoa.AcceptAnswer(offer, ans)
	if err != nil {
		t.Fatal(err)
	}
	nk, err := off.Accept(context.Background(), true, keymgmt.Lines{Session: ans.Attributes, Media: n.RemoteMedia.Attributes}, keymgmt.Stream{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(nk.Recv.MasterKey, peer.keys.Recv.MasterKey) {
		t.Fatal("the phone answered the rekey with its old key")
	}
	if e := waitFor(t, call, EventUpdated, 5*time.Second); e.Suite == "" || e.KeySource != "sdes" {
		t.Fatalf("EventUpdated %+v", e)
	}
	if call.Keys() == oldKeys {
		t.Fatal("Keys() unchanged")
	}
	lines := keyLines(t, &klog, 4)
	for _, l := range lines[2:] {
		want := nk.Recv // the phone's send key
		if l.dir == "recv" {
			want = nk.Send
		}
		if !bytes.Equal(l.key, want.MasterKey) || !bytes.Equal(l.salt, want.MasterSalt) {
			t.Fatalf("new %s line does not hold the new key", l.dir)
		}
	}

	// Media on the new keys, to and from the new address.
	st0, _ := call.Stats()
	for _, pkt := range srtpPackets(t, nk.Send, peerSSRC, peer.pt, 105, 10) {
		media2.WriteTo(pkt, net.UDPAddrFromAddrPort(peer.phoneRTP))
		time.Sleep(20 * time.Millisecond)
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, _ := call.Stats()
		if st.PacketsReceived >= st0.PacketsReceived+10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the phone took %d of 10 new-key packets from the new address (stats %v)", st.PacketsReceived-st0.PacketsReceived, st)
		}
	}
	if !decryptsFrom(t, media2, nk.Recv, 3*time.Second) {
		t.Fatal("no packet with the phone's new key at the new address")
	}
	if st, _ := call.Stats(); st.SRTPAuthFailures != 0 {
		t.Fatalf("%d SRTP auth failures", st.SRTPAuthFailures)
	}
	call.Hangup(context.Background())
}

// A 2xx to our rekey whose answer we cannot use (here an a=crypto under a tag we did not
// offer, RFC 4568 §7.1.2) leaves the peer, which switches at our ACK, on keys we do not hold:
// Rekey fails and the call ends with a BYE instead of running on with dead media.
func TestRekeyUnusableAnswerEndsCall(t *testing.T) {
	var klog lockedBuffer
	_, peer, call := dialRawPeer(t, &klog)
	answer := func(req *sip.Request, tx sip.ServerTransaction) {
		offer, err := sdpoa.Parse(req.Body())
		if err != nil {
			t.Error(err)
			return
		}
		peer.origin.SessionVersion++
		ans, _, err := sdpoa.Answer(offer, peer.origin, sdpoa.Local{Addr: addrOf(peer.media), RTCPMux: true,
			Attributes: []sdp.Attribute{sdp.NewAttribute(keymgmt.CryptoAttribute, "9 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")}})
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := ans.Marshal()
		res := sip.NewSDPResponseFromRequest(req, body)
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: peer.conn.LocalAddr().(*net.UDPAddr).Port}})
		tx.Respond(res)
	}
	peer.reinvite.Store(&answer)
	err := call.Rekey(context.Background())
	if err == nil || !strings.Contains(err.Error(), "call ended") {
		t.Fatalf("Rekey with an unusable answer: %v", err)
	}
	t.Logf("Rekey: %v", err)
	if e := waitEnded(t, call); e.By != Local {
		t.Fatalf("ended %v", e)
	}
}
