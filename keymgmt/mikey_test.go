package keymgmt_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v2"

	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

const (
	alice   = "sip:alice@home1.net"
	bob     = "sip:bob@home1.net"
	mallory = "sip:mallory@home1.net"
)

var (
	aliceStream = keymgmt.Stream{Local: alice, Remote: bob, SSRC: 0xa11ce}
	bobStream   = keymgmt.Stream{Local: bob, Remote: alice, SSRC: 0xb0b}
)

// call runs offer → answer → accept between two kms/mandatory negotiators.
func call(t testing.TB, a, b *keymgmt.Negotiator, sa, sb keymgmt.Stream) (ka, kb *keymgmt.Keys) {
	t.Helper()
	ctx := context.Background()
	off, err := a.Offer(ctx, sa)
	must(t, err, "Offer")
	if !off.Protected {
		t.Fatal("kms offer is not RTP/SAVP")
	}
	ans, kb, err := b.Answer(ctx, true, off.Lines(), sb)
	must(t, err, "Answer")
	ka, err = off.Accept(ctx, true, ans, sa)
	must(t, err, "Accept")
	return ka, kb
}

func sameSRTP(t *testing.T, what string, x, y keymgmt.SRTP) {
	t.Helper()
	if x.Profile != y.Profile || !bytes.Equal(x.MasterKey, y.MasterKey) || !bytes.Equal(x.MasterSalt, y.MasterSalt) ||
		!bytes.Equal(x.MKI, y.MKI) || x.SSRC != y.SSRC || x.ROC != y.ROC || x.EncryptSRTP != y.EncryptSRTP || x.EncryptSRTCP != y.EncryptSRTCP {
		t.Fatalf("%s: %v != %v", what, x, y)
	}
}

func srtpContext(t *testing.T, k keymgmt.SRTP) *srtp.Context {
	t.Helper()
	var opts []srtp.ContextOption
	if len(k.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(k.MKI))
	}
	c, err := srtp.CreateContext(k.MasterKey, k.MasterSalt, k.Profile, opts...)
	must(t, err, "srtp.CreateContext")
	return c
}

// srtpFlows protects an RTP and an RTCP packet with tx (the sender's Send) and opens them with rx
// (the receiver's Recv); a context with the wrong key must fail.
func srtpFlows(t *testing.T, tx, rx, wrong keymgmt.SRTP) {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 4711, Timestamp: 160, SSRC: tx.SSRC},
		Payload: []byte("twenty bytes of PCMU")}
	raw, err := p.Marshal()
	must(t, err, "rtp marshal")
	enc, err := srtpContext(t, tx).EncryptRTP(nil, raw, nil)
	must(t, err, "EncryptRTP")
	if bytes.Contains(enc, p.Payload) {
		t.Fatal("SRTP payload not encrypted")
	}
	dec, err := srtpContext(t, rx).DecryptRTP(nil, enc, nil)
	must(t, err, "DecryptRTP")
	if !bytes.Equal(dec, raw) {
		t.Fatal("SRTP round trip changed the packet")
	}
	if _, err := srtpContext(t, wrong).DecryptRTP(nil, enc, nil); err == nil {
		t.Fatal("SRTP packet opened with the other direction's key")
	}
	rr, err := (&rtcp.ReceiverReport{SSRC: tx.SSRC}).Marshal()
	must(t, err, "rtcp marshal")
	encC, err := srtpContext(t, tx).EncryptRTCP(nil, rr, nil)
	must(t, err, "EncryptRTCP")
	decC, err := srtpContext(t, rx).DecryptRTCP(nil, encC, nil)
	must(t, err, "DecryptRTCP")
	if !bytes.Equal(decC, rr) {
		t.Fatal("SRTCP round trip changed the packet")
	}
}

// A protected call keyed by KMS tickets: the caller's Send is the callee's Recv and the other way
// round (profile, master key, salt, MKI, SSRC), and SRTP/SRTCP protected by one side opens at the
// other, both directions; with and without key forking (RFC 6043 §5.1.1).
func TestMIKEYCall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags mikey.TicketFlags
	}{
		{"default", 0},
		{"forking", mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagG | mikey.FlagH | mikey.FlagI},
		{"no-RANDRr", mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false)
			a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{Flags: tc.flags})
			b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
			ctx := context.Background()
			off, err := a.Offer(ctx, aliceStream)
			must(t, err, "Offer")
			lines := off.Lines()
			if len(lines.Session) != 0 || len(lines.Media) != 1 || lines.Media[0].Key != "key-mgmt" ||
				!strings.HasPrefix(lines.Media[0].Value, "mikey ") {
				t.Fatalf("offer lines %+v", lines)
			}
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines.Media[0].Value, "mikey "))
			must(t, err, "offer base64")
			ti, err := mikey.ParseMessage(raw)
			must(t, err, "parse TRANSFER_INIT")
			if ti.HDR.DataType != mikey.DataTypeTransferInit || len(ti.HDR.GenericIDs) != 2 {
				t.Fatalf("TRANSFER_INIT HDR %+v", ti.HDR)
			}
			before := l.requests.Load()
			ans, kb, err := b.Answer(ctx, true, lines, bobStream)
			must(t, err, "Answer")
			if got := l.requests.Load() - before; got != 1 {
				t.Fatalf("Answer made %d KMS requests, want 1 (RESOLVE_INIT)", got)
			}
			ka, err := off.Accept(ctx, true, ans, aliceStream)
			must(t, err, "Accept")
			if ka.Method != "mikey" || kb.Method != "mikey" || ka.Suite != "AES_CM_128_HMAC_SHA1_80" || kb.Suite != ka.Suite {
				t.Fatalf("keys %v / %v", ka, kb)
			}
			sameSRTP(t, "caller send / callee recv", ka.Send, kb.Recv)
			sameSRTP(t, "caller recv / callee send", ka.Recv, kb.Send)
			if ka.Send.SSRC != aliceStream.SSRC || kb.Send.SSRC != bobStream.SSRC {
				t.Fatalf("SSRCs %#x %#x", ka.Send.SSRC, kb.Send.SSRC)
			}
			if bytes.Equal(ka.Send.MasterKey, ka.Recv.MasterKey) || bytes.Equal(ka.Send.MasterSalt, ka.Recv.MasterSalt) {
				t.Fatal("the two crypto sessions share a TEK or salt")
			}
			if len(ka.Send.MasterKey) != 16 || len(ka.Send.MasterSalt) != 14 || !ka.Send.EncryptSRTP || !ka.Send.EncryptSRTCP {
				t.Fatalf("params %v", ka.Send)
			}
			srtpFlows(t, ka.Send, kb.Recv, kb.Send)
			srtpFlows(t, kb.Send, ka.Recv, ka.Send)
			// No key in any printed form.
			for _, s := range []string{ka.String(), fmt.Sprintf("%v %+v %#v", ka, kb.Send, kb.Recv)} {
				for _, k := range [][]byte{ka.Send.MasterKey, ka.Recv.MasterKey} {
					if strings.Contains(s, fmt.Sprintf("%x", k)) || strings.Contains(s, base64.StdEncoding.EncodeToString(k)) {
						t.Fatalf("key printed: %s", s)
					}
				}
			}
			// The same TRANSFER_INIT again is a replay at the callee (RFC 3830 §5.4) or, for a
			// forked single-use ticket, refused by the KMS: 488 either way.
			_, _, err = b.Answer(ctx, true, lines, bobStream)
			ke := refusal(t, err, keymgmt.WarnMiscellaneous)
			if tc.name == "default" && !errors.Is(err, mikey.ErrReplay) {
				t.Fatalf("replayed offer: %v, want the replay cache's refusal", ke)
			}
			// The same TRANSFER_RESP again at the caller: replayed.
			_, err = off.Accept(ctx, true, ans, aliceStream)
			if !errors.Is(err, mikey.ErrReplay) {
				t.Fatalf("replayed answer: %v", err)
			}
		})
	}
}

// A Stream without SSRC gets a random one, reported in Keys.Send.SSRC for the media layer.
func TestMIKEYDrawsSSRC(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	ka, kb := call(t, a, b, keymgmt.Stream{Local: alice, Remote: bob}, keymgmt.Stream{Local: bob, Remote: alice})
	if ka.Send.SSRC == 0 || kb.Send.SSRC == 0 || ka.Send.SSRC != kb.Recv.SSRC || kb.Send.SSRC != ka.Recv.SSRC {
		t.Fatalf("SSRCs: caller %#x/%#x callee %#x/%#x", ka.Send.SSRC, ka.Recv.SSRC, kb.Send.SSRC, kb.Recv.SSRC)
	}
}

// refusal checks err is a 488 with the Warning code, and returns it.
func refusal(t *testing.T, err error, code int) *keymgmt.Error {
	t.Helper()
	var ke *keymgmt.Error
	if !errors.As(err, &ke) || ke.Status != keymgmt.StatusNotAcceptableHere || ke.WarnCode != code {
		t.Fatalf("want 488 with Warning %d, got %v", code, err)
	}
	return ke
}

func mediaLine(v string) keymgmt.Lines {
	return keymgmt.Lines{Media: []sdp.Attribute{sdp.NewAttribute("key-mgmt", v)}}
}

// flip returns the offer with one bit of the MIKEY message flipped at off (negative: from the end).
func flip(t *testing.T, lines keymgmt.Lines, off int, bit byte) keymgmt.Lines {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines.Media[0].Value, "mikey "))
	must(t, err, "base64")
	if off < 0 {
		off += len(raw)
	}
	raw[off] ^= bit
	return mediaLine("mikey " + base64.StdEncoding.EncodeToString(raw))
}

// A tampered TRANSFER_INIT is refused with 488. Where the early check (RFC 6043 §4.2.2.2) can see
// it, the KMS is not asked; a flipped MAC bit needs the MPKi, so it costs one resolve.
func TestMIKEYTamperedOffer(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	ctx := context.Background()
	off, err := a.Offer(ctx, aliceStream)
	must(t, err, "Offer")
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(off.Lines().Media[0].Value, "mikey "))
	// The SP parameters of AES_CM_128_HMAC_SHA1_80 begin 00 01 01 | 01 01 10 (SRTPPolicyFor's doc):
	// spOff+2 is the encryption algorithm's value.
	spOff := bytes.Index(raw, []byte{0x00, 0x01, 0x01, 0x01, 0x01, 0x10})
	if spOff < 0 {
		t.Fatal("SP parameters not found in the offer")
	}
	for _, tc := range []struct {
		name  string
		off   int
		bit   byte
		early bool
		code  int
		want  string
	}{
		{"data type", 1, 0x01, true, keymgmt.WarnMiscellaneous, "data type"},
		{"SP encryption NULL", spOff + 2, 0x01, true, keymgmt.WarnMiscellaneous, "acceptable SRTP policy"},
		{"HDR PRF", 3, 0x02, true, keymgmt.WarnMiscellaneous, ""},
		{"V MAC", -1, 0x80, false, keymgmt.WarnMiscellaneous, "TRANSFER_INIT refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := l.requests.Load()
			_, k, err := b.Answer(ctx, true, flip(t, off.Lines(), tc.off, tc.bit), bobStream)
			if k != nil {
				t.Fatal("keys from a tampered offer")
			}
			ke := refusal(t, err, tc.code)
			if !strings.Contains(ke.Warning("ue"), tc.want) {
				t.Fatalf("warning %q lacks %q", ke.Warning("ue"), tc.want)
			}
			asked := l.requests.Load() - before
			if tc.early && asked != 0 || !tc.early && asked != 1 {
				t.Fatalf("%d KMS requests (early %v): %v", asked, tc.early, err)
			}
		})
	}
	// The untampered offer still goes through afterwards.
	ans, _, err := b.Answer(ctx, true, off.Lines(), bobStream)
	must(t, err, "Answer")
	_, err = off.Accept(ctx, true, ans, aliceStream)
	must(t, err, "Accept")
}

// An unacceptable SRTP policy is refused before the KMS is asked.
func TestMIKEYPolicyMismatchEarly(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{Profiles: []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_32}})
	off, err := a.Offer(context.Background(), aliceStream)
	must(t, err, "Offer")
	before := l.requests.Load()
	_, _, err = b.Answer(context.Background(), true, off.Lines(), bobStream)
	ke := refusal(t, err, keymgmt.WarnMiscellaneous)
	if !strings.Contains(ke.Error(), "acceptable SRTP policy") || l.requests.Load() != before {
		t.Fatalf("%v; %d KMS requests", ke, l.requests.Load()-before)
	}
	// The same caller with an accepted profile: AES_CM_128_HMAC_SHA1_32 end to end.
	a32 := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{Profiles: []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_32}})
	ka, kb := call(t, a32, b, aliceStream, bobStream)
	if ka.Suite != "AES_CM_128_HMAC_SHA1_32" || kb.Send.Profile != srtp.ProtectionProfileAes128CmHmacSha1_32 {
		t.Fatalf("suite %s", ka.Suite)
	}
	sameSRTP(t, "_32", ka.Send, kb.Recv)
}

// A device that is not the callee named in the ticket (IDRr) cannot resolve it: 488 carrying the
// KMS's refusal.
func TestMIKEYWrongCallee(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	m := l.negotiator("mallory@home1.net", keymgmt.MIKEYConfig{})
	off, err := a.Offer(context.Background(), aliceStream)
	must(t, err, "Offer")
	before := l.requests.Load()
	_, k, err := m.Answer(context.Background(), true, off.Lines(), keymgmt.Stream{Local: mallory, Remote: alice})
	ke := refusal(t, err, keymgmt.WarnMiscellaneous)
	var kerr *kms.Error
	if k != nil || !errors.As(err, &kerr) || kerr.Status != 403 || l.requests.Load()-before != 1 {
		t.Fatalf("refusal %v (KMS error %v)", ke, kerr)
	}
	w := ke.Warning("mallory-ue")
	if !strings.HasPrefix(w, `399 mallory-ue "ticket resolve refused: kms `) || !strings.Contains(w, "HTTP 403") {
		t.Fatalf("Warning %s", w)
	}
	t.Logf("Warning: %s", w)
}

// The caller's SIP identity must be the TRANSFER_INIT's IDRi.
func TestMIKEYCallerIdentityMismatch(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	off, err := a.Offer(context.Background(), aliceStream)
	must(t, err, "Offer")
	_, _, err = b.Answer(context.Background(), true, off.Lines(), keymgmt.Stream{Local: bob, Remote: mallory})
	ke := refusal(t, err, keymgmt.WarnMiscellaneous)
	if !strings.Contains(ke.Error(), "is not the caller") {
		t.Fatal(ke)
	}
}

// A KMS that cannot be reached fails the offer with an error naming the ticket request.
func TestMIKEYKMSUnreachable(t *testing.T) {
	l := newLab(t, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	dead := "http://" + ln.Addr().String() + kms.DefaultPath
	ln.Close()
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{KMS: l.kmsClient("alice@home1.net", dead)})
	off, err := a.Offer(context.Background(), aliceStream)
	if err == nil || off != nil {
		t.Fatal("offer without a KMS succeeded")
	}
	if !strings.Contains(err.Error(), "ticket request for sip:bob@home1.net at the KMS") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("error %v", err)
	}
	t.Logf("error: %v", err)
}

// Malformed answers and offers: 488 with 306 for what does not decode, 399 otherwise.
func TestMIKEYMalformed(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	ctx := context.Background()
	off, err := a.Offer(ctx, aliceStream)
	must(t, err, "Offer")
	for _, tc := range []struct {
		name  string
		lines keymgmt.Lines
		code  int
	}{
		{"not base64", mediaLine("mikey !!!!"), keymgmt.WarnAttributeNotUnderstood},
		{"unpadded", mediaLine("mikey AQ"), keymgmt.WarnAttributeNotUnderstood},
		{"truncated", mediaLine("mikey AQ4A"), keymgmt.WarnAttributeNotUnderstood},
		{"none", keymgmt.Lines{}, keymgmt.WarnMiscellaneous},
		{"two", keymgmt.Lines{Media: append(off.Lines().Media, off.Lines().Media...)}, keymgmt.WarnMiscellaneous},
		{"offer as answer", off.Lines(), keymgmt.WarnMiscellaneous},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := l.requests.Load()
			if tc.name != "offer as answer" {
				_, k, err := b.Answer(ctx, true, tc.lines, bobStream)
				if k != nil {
					t.Fatal("keys")
				}
				refusal(t, err, tc.code)
			}
			k, err := off.Accept(ctx, true, tc.lines, aliceStream)
			if k != nil {
				t.Fatal("keys")
			}
			refusal(t, err, tc.code)
			if l.requests.Load() != before {
				t.Fatal("KMS asked")
			}
		})
	}
	// A tampered TRANSFER_RESP: 488 at the caller.
	ans, _, err := b.Answer(ctx, true, off.Lines(), bobStream)
	must(t, err, "Answer")
	_, err = off.Accept(ctx, true, flip(t, ans, -1, 1), aliceStream)
	refusal(t, err, keymgmt.WarnMiscellaneous)
	_, err = off.Accept(ctx, true, ans, aliceStream)
	must(t, err, "Accept after a tampered copy")
}

// A ticket past its end of validity (TRe) is refused by the early check, without the KMS.
func TestMIKEYExpiredTicketEarly(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	off, err := a.Offer(context.Background(), aliceStream)
	must(t, err, "Offer")
	l.clk.Add(61 * time.Minute) // the lab policy's max_validity is 1h
	before := l.requests.Load()
	_, _, err = b.Answer(context.Background(), true, off.Lines(), bobStream)
	ke := refusal(t, err, keymgmt.WarnMiscellaneous)
	if !strings.Contains(ke.Error(), "ticket expired") || l.requests.Load() != before {
		t.Fatalf("%v; %d KMS requests", ke, l.requests.Load()-before)
	}
}

// One MIKEY method serves concurrent calls (run under -race); every call gets its own keys.
func TestMIKEYConcurrentCalls(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	call(t, a, b, aliceStream, bobStream) // bootstrap once
	const n = 8
	keys := make([]*keymgmt.Keys, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ctx := context.Background()
			off, err := a.Offer(ctx, keymgmt.Stream{Local: alice, Remote: bob})
			if err == nil {
				var ans keymgmt.Lines
				if ans, _, err = b.Answer(ctx, true, off.Lines(), keymgmt.Stream{Local: bob, Remote: alice}); err == nil {
					keys[i], err = off.Accept(ctx, true, ans, keymgmt.Stream{Local: alice, Remote: bob})
				}
			}
			errs <- err
		}()
	}
	for range n {
		must(t, <-errs, "concurrent call")
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[string(k.Send.MasterKey)] {
			t.Fatal("two calls share a master key")
		}
		seen[string(k.Send.MasterKey)] = true
	}
}

// MIKEYConfig.IMPU names us when Stream.Local is a contact address (as the UA's is), and the
// caller's identity matches IDRi in any SIP spelling (brackets, parameters, host case).
func TestMIKEYIdentityForms(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{IMPU: alice})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{IMPU: bob})
	ka, kb := call(t, a, b, keymgmt.Stream{Local: "sip:alice@127.0.0.1:5070", Remote: bob},
		keymgmt.Stream{Local: "sip:bob@127.0.0.1:5080", Remote: `"Alice" <sip:alice@HOME1.net;user=phone>`})
	sameSRTP(t, "send/recv", ka.Send, kb.Recv)
	for _, remote := range []string{"sip:Alice@home1.net", "sips:alice@home1.net", "sip:alice@home2.net", "tel:+15551230001"} {
		off, err := a.Offer(context.Background(), aliceStream)
		must(t, err, "Offer")
		_, _, err = b.Answer(context.Background(), true, off.Lines(), keymgmt.Stream{Remote: remote})
		if ke := refusal(t, err, keymgmt.WarnMiscellaneous); !strings.Contains(ke.Error(), "is not the caller") {
			t.Fatalf("%s: %v", remote, ke)
		}
	}
}

// The callee's real TRANSFER_RESP with a line break inside its base64 is refused (RFC 4648
// §3.3; encoding/base64 alone would skip the break and decode the genuine message, as
// FuzzMIKEYAccept found); the same answer without it is then accepted, so the refusal was the
// line break's and not a replay's.
func TestMIKEYKeyMgmtLineBreakRefused(t *testing.T) {
	l := newLab(t, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	off, err := a.Offer(context.Background(), aliceStream)
	must(t, err, "Offer")
	ans, _, err := b.Answer(context.Background(), true, off.Lines(), bobStream)
	must(t, err, "Answer")
	v := ans.Media[0].Value
	broken := v[:40] + "\r\n" + v[40:]
	k, err := off.Accept(context.Background(), true, mediaLine(broken), aliceStream)
	var ke *keymgmt.Error
	if k != nil || !errors.As(err, &ke) || ke.Status != keymgmt.StatusNotAcceptableHere || !strings.Contains(err.Error(), "line break") {
		t.Fatalf("answer with a line break: keys %v, error %v", k, err)
	}
	if k, err := off.Accept(context.Background(), true, mediaLine(v), aliceStream); err != nil || k == nil {
		t.Fatalf("the same answer without the line break: keys %v, error %v", k, err)
	}
}
