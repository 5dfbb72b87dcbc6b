package sdes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

func testRand(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

// srtpRoundTrip protects one RTP packet with send keys and checks it with receive keys.
func srtpRoundTrip(t *testing.T, send, recv Keys) {
	t.Helper()
	var sendOpts, recvOpts []srtp.ContextOption
	if send.MKI != nil {
		sendOpts = append(sendOpts, srtp.MasterKeyIndicator(send.MKI))
	}
	if recv.MKI != nil {
		recvOpts = append(recvOpts, srtp.MasterKeyIndicator(recv.MKI))
	}
	if !send.EncryptSRTP {
		sendOpts = append(sendOpts, srtp.SRTPNoEncryption())
		recvOpts = append(recvOpts, srtp.SRTPNoEncryption())
	}
	enc, err := srtp.CreateContext(send.MasterKey.Key, send.Salt, send.Profile, sendOpts...)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(recv.MasterKey.Key, recv.Salt, recv.Profile, recvOpts...)
	if err != nil {
		t.Fatal(err)
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 0x1234, SequenceNumber: 7, PayloadType: 0}, Payload: []byte("hello, protected world")}
	raw, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	protected, err := enc.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := dec.DecryptRTP(nil, protected, nil)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if !bytes.Equal(plain, raw) {
		t.Fatal("decrypted packet differs")
	}
}

func TestOfferAnswerEndToEnd(t *testing.T) {
	all := []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"}
	for _, suite := range all {
		t.Run(suite, func(t *testing.T) {
			offerer := Policy{Suites: all, MKILen: 4, Lifetime: 1 << 31}
			answerer := Policy{Suites: []string{suite}}
			offer, err := NewOffer(testRand(1), offerer)
			if err != nil {
				t.Fatal(err)
			}
			if len(offer.Lines) != len(all) {
				t.Fatalf("%d lines", len(offer.Lines))
			}
			for i, c := range offer.Lines {
				if c.Tag != uint32(i+1) || c.Suite != all[i] {
					t.Fatalf("line %d: tag %d suite %s", i, c.Tag, c.Suite)
				}
			}
			ans, bNeg, err := Answer(testRand(2), answerer, offer.Attributes())
			if err != nil {
				t.Fatal(err)
			}
			if ans.Suite != suite || bNeg.Suite.Name != suite {
				t.Fatalf("answer suite %s", ans.Suite)
			}
			aNeg, err := AcceptAnswer(offerer, offer, "a=crypto:"+ans.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if aNeg.Tag != bNeg.Tag || aNeg.Suite != bNeg.Suite {
				t.Fatalf("tags %d/%d", aNeg.Tag, bNeg.Tag)
			}
			if fmt.Sprint(aNeg.Send.MasterKey) != fmt.Sprint(bNeg.Receive.MasterKey) ||
				!bytes.Equal(aNeg.Send.MasterKey.Key, bNeg.Receive.MasterKey.Key) || !bytes.Equal(aNeg.Send.Salt, bNeg.Receive.Salt) ||
				!bytes.Equal(aNeg.Receive.MasterKey.Key, bNeg.Send.MasterKey.Key) || !bytes.Equal(aNeg.Receive.Salt, bNeg.Send.Salt) {
				t.Fatal("the two sides disagree on the keys")
			}
			if bytes.Equal(aNeg.Send.MasterKey.Key, aNeg.Receive.MasterKey.Key) {
				t.Fatal("both directions share a key (RFC 4568 §7.1.2)")
			}
			if !bytes.Equal(aNeg.Send.MKI, []byte{0, 0, 0, 1}) || aNeg.Receive.MKI != nil || aNeg.Send.Lifetime != 1<<31 {
				t.Fatalf("MKI/lifetime: send %x recv %x lifetime %d", aNeg.Send.MKI, aNeg.Receive.MKI, aNeg.Send.Lifetime)
			}
			if !aNeg.Send.EncryptSRTP || !aNeg.Send.EncryptSRTCP || !bNeg.Send.EncryptSRTP || !bNeg.Send.EncryptSRTCP {
				t.Fatal("encryption off")
			}
			srtpRoundTrip(t, aNeg.Send, bNeg.Receive)
			srtpRoundTrip(t, bNeg.Send, aNeg.Receive)
		})
	}
}

func TestAnswerSkipsUnacceptable(t *testing.T) {
	const k30 = "YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2"
	const k46 = "8PBJFLUT8nY6Gx+hMPEOKZj29uQ+QwnR5iKg4zK58bY7BIA95R7nyWQjq1t40g=="
	offered := []string{
		"1 F8_128_HMAC_SHA1_80 inline:" + k30,
		"2 AES_192_CM_HMAC_SHA1_80 inline:" + strings.Repeat("A", 50) + "==",
		"3 NEW_SUITE inline:AAAA",
		"4 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNAUTHENTICATED_SRTP",
		"5 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " KDR=10",
		"6 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " FUTURE_MANDATORY",
		"7 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNENCRYPTED_SRTCP",
		"8 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " FEC_KEY=inline:" + k30,
		"9 AES_CM_128_HMAC_SHA1_80 inline:short",
		"10 AES_CM_256_HMAC_SHA1_80 inline:" + k46 + "|2^20|1:2;inline:" + strings.Replace(k46, "8", "9", 1) + "|2^20|2:2 WSH=256 -OPT KDR=0",
		"11 AES_CM_128_HMAC_SHA1_80 inline:" + k30,
	}
	ans, neg, err := Answer(testRand(3), Policy{}, offered)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Tag != 10 || ans.Suite != "AES_256_CM_HMAC_SHA1_80" || neg.Suite.Profile != srtp.ProtectionProfileAes256CmHmacSha1_80 {
		t.Fatalf("answer %v", ans)
	}
	if !strings.HasPrefix(ans.Marshal(), "10 AES_256_CM_HMAC_SHA1_80 inline:") {
		t.Fatalf("answer text %q does not use the RFC 6188 spelling", ans.Marshal())
	}
	if len(ans.Keys) != 1 || len(ans.Keys[0].KeySalt) != 46 || ans.HasKDR || ans.WSH != 0 || len(ans.Extensions) != 0 {
		t.Fatalf("answer %v", ans)
	}
	if neg.Receive.WindowSizeHint != 256 || len(neg.Receive.MoreKeys) != 1 || !bytes.Equal(neg.Receive.MoreKeys[0].MKI, []byte{0, 2}) {
		t.Fatalf("receive %v", neg.Receive)
	}
}

func TestAnswerRefusesWithReasons(t *testing.T) {
	const k30 = "YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2"
	offered := []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNAUTHENTICATED_SRTP",
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + k30 + " KDR=4",
		"3 F8_128_HMAC_SHA1_80 inline:" + k30,
		"4 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:0",
		"5 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNENCRYPTED_SRTP",
		"6 AEAD_AES_128_GCM inline:" + k30[:38],
	}
	_, _, err := Answer(testRand(4), Policy{Suites: []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}}, offered)
	var ne *NegotiationError
	if !errors.As(err, &ne) {
		t.Fatalf("error %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"tag 1: UNAUTHENTICATED_SRTP refused", "tag 2: KDR=4 refused", "tag 3: crypto suite F8_128_HMAC_SHA1_80 not supported",
		"line 4 invalid", "MKI length 0", "tag 5: UNENCRYPTED_SRTP refused by policy", "tag 6: crypto suite AEAD_AES_128_GCM not allowed by policy"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, k30[:8]) {
		t.Error("error leaks key text")
	}
	if len(ne.Reasons) != len(offered) {
		t.Errorf("%d reasons for %d lines", len(ne.Reasons), len(offered))
	}
	if _, _, err := Answer(testRand(4), Policy{}, nil); !errors.As(err, &ne) {
		t.Errorf("empty offer: %v", err)
	}
	if _, _, err := Answer(testRand(4), Policy{}, []string{"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30, "1 AES_CM_128_HMAC_SHA1_32 inline:" + k30}); err == nil || !strings.Contains(err.Error(), "repeats tag 1") {
		t.Errorf("duplicate tags: %v", err)
	}
}

func TestUnencryptedNegotiated(t *testing.T) {
	p := Policy{Suites: []string{"AES_CM_128_HMAC_SHA1_80"}, AllowUnencryptedSRTP: true, AllowUnencryptedSRTCP: true}
	offer, err := NewOffer(testRand(5), p)
	if err != nil {
		t.Fatal(err)
	}
	offer.Lines[0].UnencryptedSRTP = true
	offer.Lines[0].UnencryptedSRTCP = true
	ans, bNeg, err := Answer(testRand(6), p, offer.Attributes())
	if err != nil {
		t.Fatal(err)
	}
	if !ans.UnencryptedSRTP || !ans.UnencryptedSRTCP || bNeg.Send.EncryptSRTP || bNeg.Receive.EncryptSRTCP {
		t.Fatalf("answer %v neg %v", ans, bNeg)
	}
	aNeg, err := AcceptAnswer(p, offer, ans.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if aNeg.Send.EncryptSRTP || aNeg.Send.EncryptSRTCP {
		t.Fatal("offerer still encrypts")
	}
	srtpRoundTrip(t, aNeg.Send, bNeg.Receive)
}

func TestAcceptAnswerRejects(t *testing.T) {
	p := Policy{Suites: []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}}
	offer, err := NewOffer(testRand(7), p)
	if err != nil {
		t.Fatal(err)
	}
	ours := b64enc(offer.Lines[0].Keys[0].KeySalt)
	fresh := b64enc(bytes.Repeat([]byte{7}, 30))
	for _, tc := range []struct{ answer, want string }{
		{"3 AES_CM_128_HMAC_SHA1_80 inline:" + fresh, "tag was not offered"},
		{"1 AES_CM_128_HMAC_SHA1_32 inline:" + fresh, "differs from the offered"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + ours, "reuses an offered key"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + fresh + " UNENCRYPTED_SRTCP", "UNENCRYPTED_SRTCP refused"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + fresh + " UNAUTHENTICATED_SRTP", "UNAUTHENTICATED_SRTP refused"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + fresh + " KDR=1", "KDR=1 refused"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + fresh + " MANDATORY_X", "unknown mandatory session parameter"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + fresh[:20], "answer invalid"},
	} {
		_, err := AcceptAnswer(p, offer, tc.answer)
		var ne *NegotiationError
		if !errors.As(err, &ne) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("answer %q: error %v, want %q", tc.answer, err, tc.want)
		}
	}
	loose := p
	loose.AllowUnencryptedSRTCP = true
	if _, err := AcceptAnswer(loose, offer, "1 AES_CM_128_HMAC_SHA1_80 inline:"+fresh+" UNENCRYPTED_SRTCP"); err == nil || !strings.Contains(err.Error(), "not offered") {
		t.Errorf("unoffered UNENCRYPTED_SRTCP: %v", err)
	}
	if _, err := AcceptAnswer(p, offer, "1 AES_CM_128_HMAC_SHA1_80 inline:"+fresh+" -OPTIONAL_X"); err != nil {
		t.Errorf("optional parameter refused: %v", err)
	}
}

func TestPolicyErrors(t *testing.T) {
	for _, p := range []Policy{
		{Suites: []string{"F8_128_HMAC_SHA1_80"}},
		{Suites: []string{"NOPE"}},
		{MKILen: 129},
		{Lifetime: 1<<48 + 1},
	} {
		if _, err := NewOffer(testRand(8), p); err == nil {
			t.Errorf("policy %+v accepted", p)
		}
	}
	if _, err := NewOffer(strings.NewReader("short"), Policy{}); err == nil {
		t.Error("short random source accepted")
	}
	if _, err := NewOffer(bytes.NewReader(make([]byte, 1000)), Policy{}); err == nil || !strings.Contains(err.Error(), "repeated a key") {
		t.Errorf("constant random source: %v", err)
	}
}

func TestKeysRedaction(t *testing.T) {
	_, neg, err := Answer(testRand(9), Policy{MKILen: 2}, []string{"1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("keys", "send", neg.Send, "recv", neg.Receive)
	outs := []string{neg.String(), fmt.Sprintf("%v", neg.Receive), fmt.Sprintf("%+v", neg.Receive), fmt.Sprintf("%#v", neg.Receive), buf.String(), fmt.Sprint(neg.Receive.MasterKey)}
	for _, out := range outs {
		// The offered key is ASCII "aBCdefghiJKLmoPQrsTuVwyz123456".
		if strings.Contains(out, "aBCdef") || strings.Contains(out, "61424364") || strings.Contains(out, "YUJD") {
			t.Errorf("key material in %q", out)
		}
		for _, k := range [][]byte{neg.Send.MasterKey.Key, neg.Send.Salt} {
			if strings.Contains(out, fmt.Sprintf("%x", k[:4])) {
				t.Errorf("our key in %q", out)
			}
		}
	}
	if !strings.Contains(outs[0], "mki=0001") {
		t.Errorf("MKI missing from %q", outs[0])
	}
}

func TestDefaultOffer(t *testing.T) {
	offer, err := NewOffer(testRand(10), Policy{})
	if err != nil {
		t.Fatal(err)
	}
	attrs := offer.Attributes()
	if len(attrs) != len(DefaultSuites()) {
		t.Fatalf("%d lines", len(attrs))
	}
	for i, a := range attrs {
		c, err := Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		if c.Tag != uint32(i+1) || c.Suite != DefaultSuites()[i] || c.Keys[0].MKI != nil || c.Keys[0].Lifetime != 0 {
			t.Errorf("line %d: %v", i, c)
		}
	}
	if strings.Contains(offer.String(), attrs[0][len("1 AES_CM_128_HMAC_SHA1_80 inline:"):][:10]) {
		t.Error("Offer.String leaks a key")
	}
}

func TestWarningText(t *testing.T) {
	_, _, err := Answer(testRand(11), Policy{}, []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVHVWd3l6MTIzNDU2 X\\\"Y",
		"2 NEW_SUITE inline:AAAA",
	})
	var ne *NegotiationError
	if !errors.As(err, &ne) {
		t.Fatal(err)
	}
	want := `tag 1: unknown mandatory session parameter \"X\\\\\\\"Y\" (RFC 4568 §6.3.7); tag 2: crypto suite NEW_SUITE unknown`
	if got := ne.WarningText(); got != want {
		t.Fatalf("WarningText\n got %s\nwant %s", got, want)
	}
	long := &NegotiationError{Reasons: []string{strings.Repeat("x", 1000) + "\r\n"}}
	if got := long.WarningText(); len(got) > maxWarnText+3 || !strings.HasSuffix(got, "...") {
		t.Fatalf("long text: %d octets", len(got))
	}
	if got := (&NegotiationError{Reasons: []string{"a\r\nb\x00c"}}).WarningText(); got != "abc" {
		t.Fatalf("control characters kept: %q", got)
	}
}
