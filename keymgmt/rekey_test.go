package keymgmt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"testing"

	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
)

// overTLS is a stream whose SDP rides TLS, where SDES keys may go (RFC 4568 §8.3).
var overTLS = keymgmt.Stream{SecureSignalling: true}

func sdesNegotiator(t *testing.T) *keymgmt.Negotiator {
	t.Helper()
	n, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}, Rand: rand.Reader})
	must(t, err, "New")
	return n
}

func differentSRTP(t *testing.T, what string, old, cur keymgmt.SRTP) {
	t.Helper()
	if bytes.Equal(old.MasterKey, cur.MasterKey) || bytes.Equal(old.MasterSalt, cur.MasterSalt) {
		t.Fatalf("%s: rekey kept the master key or salt", what)
	}
	if cur.ROC != 0 {
		t.Fatalf("%s: new context with ROC %d, want 0 (RFC 4568 §7.1.4)", what, cur.ROC)
	}
}

// SDES rekey by re-offer, from either side: the re-offer's new a=crypto lines are answered like
// an initial offer, both directions get new keys (RFC 4568 §7.1.4), and the new keys pair up
// (one side's Send is the other's Recv), checked by protecting SRTP and SRTCP with them.
func TestSDESRekey(t *testing.T) {
	ctx := context.Background()
	for _, by := range []string{"offerer", "answerer"} {
		t.Run(by, func(t *testing.T) {
			a, b := sdesNegotiator(t), sdesNegotiator(t)
			ka, kb := call(t, a, b, overTLS, overTLS)
			x, y, kx, ky := a, b, ka, kb
			if by == "answerer" {
				x, y, kx, ky = b, a, kb, ka
			}
			off, err := x.RekeyOffer(ctx, kx, overTLS)
			must(t, err, "RekeyOffer")
			if got := len(off.Lines().MediaValues(keymgmt.CryptoAttribute)); got < 2 {
				t.Fatalf("rekey offer has %d a=crypto lines, want the policy's suites", got)
			}
			ans, ny, err := y.AnswerReoffer(ctx, ky, true, off.Lines(), overTLS)
			must(t, err, "AnswerReoffer")
			if ny == ky {
				t.Fatal("a re-offer with new keys kept the old ones")
			}
			nx, err := off.Accept(ctx, true, ans, overTLS)
			must(t, err, "Accept")
			differentSRTP(t, "offerer send", kx.Send, nx.Send)
			differentSRTP(t, "offerer recv", kx.Recv, nx.Recv)
			nx.Send.SSRC, ny.Recv.SSRC = 0x1234, 0x1234
			ny.Send.SSRC, nx.Recv.SSRC = 0x5678, 0x5678
			srtpFlows(t, nx.Send, ny.Recv, kx.Send)
			srtpFlows(t, ny.Send, nx.Recv, ky.Send)
			if nx.Suite != "AES_CM_128_HMAC_SHA1_80" {
				t.Fatalf("suite %s, want the policy's first", nx.Suite)
			}

			// After the rekey, hold/resume keeps the new keys (same *Keys, ROC kept).
			re := y.Reoffer(ny)
			l, kept, err := x.AnswerReoffer(ctx, nx, true, re.Lines(), overTLS)
			must(t, err, "AnswerReoffer keep")
			if kept != nx {
				t.Fatal("a re-offer repeating the active key replaced the keys")
			}
			k2, err := re.Accept(ctx, true, l, overTLS)
			if err != nil || k2 != ny {
				t.Fatalf("re-offer accept: %v", err)
			}
			// Policy still applies: mandatory SRTP cannot drop to RTP/AVP in a re-offer.
			if _, _, err := x.AnswerReoffer(ctx, nx, false, keymgmt.Lines{}, overTLS); err == nil {
				t.Fatal("re-offer dropping SRTP accepted")
			}
		})
	}
}

// A rekey offer whose answer does not come (the peer refuses) leaves nothing changed: the old
// Keys are untouched by RekeyOffer.
func TestRekeyOfferLeavesOldKeys(t *testing.T) {
	ctx := context.Background()
	a, b := sdesNegotiator(t), sdesNegotiator(t)
	ka, _ := call(t, a, b, overTLS, overTLS)
	before := *ka
	before.Send.MasterKey = bytes.Clone(ka.Send.MasterKey)
	if _, err := a.RekeyOffer(ctx, ka, overTLS); err != nil {
		t.Fatal(err)
	}
	sameSRTP(t, "send after RekeyOffer", before.Send, ka.Send)
	if _, err := a.RekeyOffer(ctx, nil, overTLS); err == nil {
		t.Fatal("rekey of a plain stream accepted")
	}
	// Without TLS the policy's SDES gate holds for a rekey as for the first offer.
	if _, err := a.RekeyOffer(ctx, ka, keymgmt.Stream{}); !errors.Is(err, keymgmt.ErrSDESWithoutTLS) {
		t.Fatalf("SDES rekey offer over plain signalling: %v", err)
	}
}

// MIKEY rekey through the lab's KMS, from either side: RekeyOffer asks the KMS for a new
// ticket and sends a new TRANSFER_INIT (new CSB ID, T and RANDs, RFC 6043 §5.3 spells out what a
// new Ticket Transfer exchange changes), the peer resolves it at the KMS like an initial offer
// (one more RESOLVE), and the new keys differ from the old ones, pair up and keep the SSRCs.
func TestMIKEYRekey(t *testing.T) {
	ctx := context.Background()
	for _, by := range []string{"caller", "callee"} {
		t.Run(by, func(t *testing.T) {
			l := newLab(t, false)
			a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
			b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
			ka, kb := call(t, a, b, aliceStream, bobStream)
			x, y, kx, ky, sx, sy := a, b, ka, kb, aliceStream, bobStream
			if by == "callee" {
				x, y, kx, ky, sx, sy = b, a, kb, ka, bobStream, aliceStream
			}
			before := l.requests.Load()
			off, err := x.RekeyOffer(ctx, kx, sx)
			must(t, err, "RekeyOffer")
			if l.requests.Load() != before+1 {
				t.Fatalf("rekey offer made %d KMS requests, want 1 (REQUEST_INIT)", l.requests.Load()-before)
			}
			ans, ny, err := y.AnswerReoffer(ctx, ky, true, off.Lines(), sy)
			must(t, err, "AnswerReoffer")
			if l.requests.Load() != before+2 {
				t.Fatalf("rekey answer: %d KMS requests in all, want 2 (REQUEST_INIT, RESOLVE_INIT)", l.requests.Load()-before)
			}
			if ny == ky || ny.Method != "mikey" {
				t.Fatalf("re-offer with a new TRANSFER_INIT kept the keys (%v)", ny)
			}
			nx, err := off.Accept(ctx, true, ans, sx)
			must(t, err, "Accept")
			differentSRTP(t, "initiator send", kx.Send, nx.Send)
			differentSRTP(t, "initiator recv", kx.Recv, nx.Recv)
			if nx.Send.SSRC != sx.SSRC || nx.Recv.SSRC != sy.SSRC {
				t.Fatalf("SSRCs %#x/%#x, want the streams' %#x/%#x", nx.Send.SSRC, nx.Recv.SSRC, sx.SSRC, sy.SSRC)
			}
			sameSRTP(t, "initiator send = responder recv", nx.Send, ny.Recv)
			sameSRTP(t, "responder send = initiator recv", ny.Send, nx.Recv)
			srtpFlows(t, nx.Send, ny.Recv, kx.Send)

			// The rekeyed session's re-offer for hold repeats the new messages and keeps them.
			re := x.Reoffer(nx)
			_, kept, err := y.AnswerReoffer(ctx, ny, true, re.Lines(), sy)
			if err != nil || kept != ny {
				t.Fatalf("hold after rekey: %v", err)
			}
		})
	}
}

// A rekey that cannot reach the KMS fails cleanly: an error, no offer, the old keys untouched.
func TestMIKEYRekeyKMSUnreachable(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	ka, _ := call(t, a, b, aliceStream, bobStream)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	dead := "http://" + ln.Addr().String() + kms.DefaultPath
	ln.Close()
	// The same account with its KMS gone: the keys of the call stay as they are.
	a2 := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{KMS: l.kmsClient("alice@home1.net", dead)})
	before := *ka
	off, err := a2.RekeyOffer(context.Background(), ka, aliceStream)
	if err == nil || off != nil {
		t.Fatal("rekey without a KMS succeeded")
	}
	sameSRTP(t, "send after the failed rekey", before.Send, ka.Send)
	t.Logf("error: %v", err)
}

// BenchmarkSDESRekey is one SDES rekey exchange: RekeyOffer, AnswerReoffer, Accept.
func BenchmarkSDESRekey(b *testing.B) {
	ctx := context.Background()
	x, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}, Rand: rand.Reader})
	must(b, err, "New")
	y, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}, Rand: rand.Reader})
	must(b, err, "New")
	kx, ky := call(b, x, y, overTLS, overTLS)
	b.ReportAllocs()
	for b.Loop() {
		off, err := x.RekeyOffer(ctx, kx, overTLS)
		must(b, err, "RekeyOffer")
		ans, _, err := y.AnswerReoffer(ctx, ky, true, off.Lines(), overTLS)
		must(b, err, "AnswerReoffer")
		if _, err := off.Accept(ctx, true, ans, overTLS); err != nil {
			b.Fatal(err)
		}
	}
}
