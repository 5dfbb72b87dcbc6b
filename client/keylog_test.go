package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/sdes"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type keyLine struct {
	time           time.Time
	callID, dir    string
	ssrc           uint32
	suite          string
	key, salt, mki []byte
	hasMKI         bool
}

// parseKeyLine reads one key log line in the documented format (Config.KeyLog).
func parseKeyLine(t *testing.T, line string) keyLine {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 7 || !strings.HasPrefix(f[3], "ssrc=") || !strings.HasPrefix(f[4], "suite=") || !strings.HasPrefix(f[5], "key=") || !strings.HasPrefix(f[6], "mki=") {
		t.Fatalf("key log line %q", line)
	}
	var kl keyLine
	var err error
	if kl.time, err = time.Parse(time.RFC3339Nano, f[0]); err != nil {
		t.Fatal(err)
	}
	kl.callID, kl.dir = f[1], f[2]
	ssrc := strings.TrimPrefix(f[3], "ssrc=")
	if len(ssrc) != 8 {
		t.Fatalf("ssrc %q is not 8 hex digits", ssrc)
	}
	v, err := strconv.ParseUint(ssrc, 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	kl.ssrc = uint32(v)
	kl.suite = strings.TrimPrefix(f[4], "suite=")
	s, ok := sdes.LookupSuite(kl.suite)
	if !ok {
		t.Fatalf("suite %q", kl.suite)
	}
	ks, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[5], "key="))
	if err != nil || len(ks) != s.KeySaltLen() {
		t.Fatalf("key: %d octets, %v", len(ks), err)
	}
	kl.key, kl.salt = ks[:s.KeyLen], ks[s.KeyLen:]
	if m := strings.TrimPrefix(f[6], "mki="); m != "-" {
		if kl.mki, err = hex.DecodeString(m); err != nil {
			t.Fatal(err)
		}
		kl.hasMKI = true
	}
	return kl
}

func (kl keyLine) context(t *testing.T) *srtp.Context {
	t.Helper()
	s, _ := sdes.LookupSuite(kl.suite)
	c, err := srtp.CreateContext(kl.key, kl.salt, s.Profile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keyLines waits until the log holds n lines.
func keyLines(t *testing.T, log *lockedBuffer, n int) []keyLine {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		if len(lines) >= n && lines[0] != "" {
			out := make([]keyLine, len(lines))
			for i, l := range lines {
				out[i] = parseKeyLine(t, l)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("key log %q: want %d lines", log.String(), n)
		}
	}
}

// The keys in Config.KeyLog decrypt what was on the wire: the send line decrypts an SRTP
// packet captured from the caller, the recv line one the callee sent (a fake SDES UAS here,
// whose own keys come from package keymgmt), and both name the SSRC on the wire.
func TestKeyLogDecryptsCapture(t *testing.T) {
	var klog lockedBuffer
	pol := keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}
	a, err := NewPhone(Config{User: "alice", Security: pol, KeyLog: &klog})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	neg, err := keymgmt.New(keymgmt.Config{Policy: pol, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	type uasSide struct {
		keys    *keymgmt.Keys
		peerRTP netip.AddrPort
		pt      uint8
	}
	uas := make(chan uasSide, 1)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ua, _ := sipgo.NewUA()
	defer ua.Close()
	srv, _ := sipgo.NewServer(ua)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		offer, err := sdpoa.Parse(req.Body())
		if err != nil {
			t.Error(err)
			return
		}
		idx, err := sdpoa.SelectAudio(offer, sdpoa.Local{})
		if err != nil {
			t.Error(err)
			return
		}
		om := &offer.Media[idx]
		lines, keys, err := neg.Answer(context.Background(), om.Protected(), keymgmt.Lines{Session: offer.Attributes, Media: om.Attributes},
			keymgmt.Stream{Local: "sip:bob@127.0.0.1", Remote: req.From().Address.String()})
		if err != nil {
			t.Error(err)
			return
		}
		ans, n, err := sdpoa.Answer(offer, sdpoa.Origin{Address: netip.MustParseAddr("127.0.0.1")},
			sdpoa.Local{Addr: addrOf(media), RTCPMux: true, Attributes: lines.Media})
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := ans.Marshal()
		res := sip.NewSDPResponseFromRequest(req, body)
		res.To().Params.Add("tag", "uas-tag")
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: conn.LocalAddr().(*net.UDPAddr).Port}})
		uas <- uasSide{keys: keys, peerRTP: om.Addr, pt: n.Codec.PT}
		tx.Respond(res)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go srv.ServeUDP(conn)
	for ; ; time.Sleep(time.Millisecond) {
		if c, _ := ua.TransportLayer().GetConnection("udp", conn.LocalAddr().String()); c != nil {
			break
		}
	}

	call, err := a.Dial(context.Background(), "sip:bob@"+conn.LocalAddr().String(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var side uasSide
	select {
	case side = <-uas:
	case <-time.After(5 * time.Second):
		t.Fatal("no INVITE at the UAS")
	}
	waitFor(t, call, EventAnswered, 5*time.Second)

	// Send direction: capture the caller's first RTP packet (RTCP, multiplexed, has PT 200-204).
	send := keyLines(t, &klog, 1)[0]
	if send.dir != "send" || send.callID != call.CallID || send.suite != "AES_CM_128_HMAC_SHA1_80" || send.hasMKI {
		t.Fatalf("send line %+v", send)
	}
	buf := make([]byte, 1500)
	var captured []byte
	media.SetReadDeadline(time.Now().Add(5 * time.Second))
	for captured == nil {
		n, _, err := media.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n > 1 && (buf[1]&0x7f < 72 || buf[1]&0x7f > 76) {
			captured = append([]byte(nil), buf[:n]...)
		}
	}
	plain, err := send.context(t).DecryptRTP(nil, captured, nil)
	if err != nil {
		t.Fatalf("logged send key does not decrypt the captured packet: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(plain); err != nil || pkt.SSRC != send.ssrc || len(pkt.Payload) != 160 {
		t.Fatalf("decrypted %v (SSRC %08x, logged %08x): %v", pkt.Header, pkt.SSRC, send.ssrc, err)
	}

	// Recv direction: the UAS sends SRTP with its key until the caller latches and logs it.
	const uasSSRC = 0x1a2b3c4d
	tx, err := srtp.CreateContext(side.keys.Send.MasterKey, side.keys.Send.MasterSalt, side.keys.Send.Profile)
	if err != nil {
		t.Fatal(err)
	}
	var sent [][]byte
	var recv *keyLine
	for i := 0; recv == nil && i < 250; i++ {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: side.pt, SequenceNumber: uint16(100 + i), Timestamp: uint32(160 * i), SSRC: uasSSRC},
			Payload: bytes.Repeat([]byte{0xff}, 160)}
		raw, _ := p.Marshal()
		enc, err := tx.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, enc)
		media.WriteTo(enc, net.UDPAddrFromAddrPort(side.peerRTP))
		time.Sleep(20 * time.Millisecond)
		lines := strings.Split(strings.TrimSpace(klog.String()), "\n")
		if len(lines) >= 2 {
			kl := parseKeyLine(t, lines[1])
			recv = &kl
		}
	}
	if recv == nil {
		t.Fatal("no recv line in the key log")
	}
	if recv.dir != "recv" || recv.callID != call.CallID || recv.ssrc != uasSSRC {
		t.Fatalf("recv line %+v", recv)
	}
	plain, err = recv.context(t).DecryptRTP(nil, sent[0], nil)
	if err != nil {
		t.Fatalf("logged recv key does not decrypt the UAS's packet: %v", err)
	}
	if err := pkt.Unmarshal(plain); err != nil || pkt.SSRC != uasSSRC {
		t.Fatalf("decrypted recv packet: %v %v", pkt.Header, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	call.Hangup(ctx)
	if n := strings.Count(klog.String(), "\n"); n != 2 {
		t.Fatalf("%d key log lines, want 2", n)
	}
}
