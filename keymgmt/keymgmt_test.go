package keymgmt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"

	"github.com/imsphone/imsphone/keymgmt/sdes"
)

func negotiator(t testing.TB, mode Mode, req Requirement) *Negotiator {
	t.Helper()
	n, err := New(Config{Policy: Policy{Mode: mode, Requirement: req}, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// An SDES offer from A answered by B gives each side the other's send key as its receive key.
func TestSDESOfferAnswer(t *testing.T) {
	ctx := context.Background()
	a, b := negotiator(t, ModeSDES, Mandatory), negotiator(t, ModeSDES, Preferred)
	off, err := a.Offer(ctx, overTLS)
	if err != nil {
		t.Fatal(err)
	}
	if !off.Protected || len(off.Lines().MediaValues(CryptoAttribute)) < 2 {
		t.Fatalf("offer: protected %v, %d crypto lines", off.Protected, len(off.Lines().MediaValues(CryptoAttribute)))
	}
	ansLines, kb, err := b.Answer(ctx, true, off.Lines(), overTLS)
	if err != nil {
		t.Fatal(err)
	}
	ka, err := off.Accept(ctx, true, ansLines, overTLS)
	if err != nil {
		t.Fatal(err)
	}
	if ka.Method != "sdes" || ka.Suite != "AES_CM_128_HMAC_SHA1_80" || kb.Suite != ka.Suite {
		t.Fatalf("suites %s / %s", ka, kb)
	}
	if !bytes.Equal(ka.Send.MasterKey, kb.Recv.MasterKey) || !bytes.Equal(ka.Recv.MasterKey, kb.Send.MasterKey) ||
		!bytes.Equal(ka.Send.MasterSalt, kb.Recv.MasterSalt) || bytes.Equal(ka.Send.MasterKey, ka.Recv.MasterKey) {
		t.Fatal("directions do not cross")
	}
	if len(ka.Send.MasterKey) != 16 || len(ka.Send.MasterSalt) != 14 || !ka.Send.EncryptSRTP || !ka.Send.EncryptSRTCP {
		t.Fatalf("params %s", ka.Send)
	}
	// Keys never print.
	key := base64.StdEncoding.EncodeToString(ka.Send.MasterKey)
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("k", "keys", ka, "send", ka.Send)
	for _, s := range []string{ka.String(), fmt.Sprintf("%v %+v %#v", ka, ka.Send, ka.Recv), logBuf.String()} {
		if strings.Contains(s, key) || strings.Contains(s, fmt.Sprintf("%x", ka.Send.MasterKey)) ||
			strings.Contains(s, fmt.Sprint(ka.Send.MasterKey)) {
			t.Fatalf("key leaked: %s", s)
		}
	}
}

func TestE2AE(t *testing.T) {
	ctx := context.Background()
	n, _ := New(Config{Policy: Policy{Mode: ModeSDES, E2AE: true}, Rand: rand.Reader})
	off, _ := n.Offer(ctx, overTLS)
	if v := off.Lines().MediaValues(E2AEAttribute); len(v) != 1 || v[0] != "requested" {
		t.Fatalf("3ge2ae %q", v)
	}
	_, k, err := negotiator(t, ModeSDES, Mandatory).Answer(ctx, true, off.Lines(), overTLS)
	if err != nil || !k.E2AE {
		t.Fatalf("answer: %v e2ae %v", err, k)
	}
}

func TestPolicyTable(t *testing.T) {
	ctx := context.Background()
	sdesOffer, _ := negotiator(t, ModeSDES, Mandatory).Offer(ctx, overTLS)
	mikey := Lines{Session: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey AQAFgM0X")}}
	for _, tc := range []struct {
		mode      Mode
		req       Requirement
		protected bool
		offer     Lines
		warn      int // 0: accepted
		method    string
	}{
		{ModeNone, Preferred, false, Lines{}, 0, ""},
		{ModeNone, Mandatory, true, sdesOffer.Lines(), 399, ""},
		{ModeSDES, Preferred, false, Lines{}, 0, ""},
		{ModeSDES, Mandatory, false, Lines{}, 399, ""},
		{ModeSDES, Mandatory, true, sdesOffer.Lines(), 0, "sdes"},
		{ModeSDES, Mandatory, true, Lines{}, 399, ""},
		{ModeSDES, Preferred, true, mikey, 306, ""},
	} {
		n := negotiator(t, tc.mode, tc.req)
		_, k, err := n.Answer(ctx, tc.protected, tc.offer, overTLS)
		var ke *Error
		switch {
		case tc.warn == 0 && err != nil:
			t.Errorf("%s/%s protected=%v: %v", tc.mode, tc.req, tc.protected, err)
		case tc.warn != 0 && (!errors.As(err, &ke) || ke.WarnCode != tc.warn || ke.Status != 488):
			t.Errorf("%s/%s protected=%v: got %v, want 488 with warning %d", tc.mode, tc.req, tc.protected, err, tc.warn)
		case tc.warn == 0 && tc.method == "" && k != nil:
			t.Errorf("%s/%s: keys for a plain stream", tc.mode, tc.req)
		case tc.method != "" && (k == nil || k.Method != tc.method):
			t.Errorf("%s/%s: keys %v, want method %s", tc.mode, tc.req, k, tc.method)
		}
	}
	if _, err := New(Config{Policy: Policy{Mode: ModeKMS}, Rand: rand.Reader}); err == nil {
		t.Error("kms policy without a MIKEY method accepted")
	}
	if _, err := ParsePolicy("zrtp", ""); err == nil {
		t.Error("unknown mode accepted")
	}
}

// A tampered a=crypto (bad base64, wrong key length) is refused with 488 and a Warning that
// says why and carries no key.
func TestTamperedCrypto(t *testing.T) {
	ctx := context.Background()
	for name, v := range map[string]string{
		"base64": "1 AES_CM_128_HMAC_SHA1_80 inline:@@@@QCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		"length": "1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(make([]byte, 29)),
	} {
		_, _, err := negotiator(t, ModeSDES, Mandatory).Answer(ctx, true,
			Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, v)}}, overTLS)
		var ke *Error
		if !errors.As(err, &ke) || ke.Status != 488 || ke.WarnCode != 399 {
			t.Fatalf("%s: %v", name, err)
		}
		w := ke.Warning("ua")
		if !strings.HasPrefix(w, `399 ua "`) || strings.Contains(w, "QCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR") {
			t.Fatalf("%s: warning %s", name, w)
		}
		t.Logf("%s: Warning: %s", name, w)
	}
}

func TestAcceptRefusesBadAnswer(t *testing.T) {
	ctx := context.Background()
	off, _ := negotiator(t, ModeSDES, Mandatory).Offer(ctx, overTLS)
	if _, err := off.Accept(ctx, false, Lines{}, overTLS); err == nil {
		t.Error("plain answer to a SAVP offer accepted")
	}
	if _, err := off.Accept(ctx, true, Lines{}, overTLS); err == nil {
		t.Error("answer without a=crypto accepted")
	}
	// The answerer must not echo our own key (RFC 4568 §7.1.3).
	echo := off.Lines().MediaValues(CryptoAttribute)[0]
	if _, err := off.Accept(ctx, true, Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, echo)}}, overTLS); err == nil {
		t.Error("echoed offer key accepted")
	}
}

func TestKeyMgmtValues(t *testing.T) {
	sess := []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey SESSION"), sdp.NewAttribute(KeyMgmtAttribute, "other X")}
	if got := KeyMgmtValues(Lines{Session: sess}, "mikey"); len(got) != 1 || got[0] != "SESSION" {
		t.Fatalf("session level: %q", got)
	}
	med := []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, " MIKEY MEDIA")}
	if got := KeyMgmtValues(Lines{Session: sess, Media: med}, "mikey"); len(got) != 1 || got[0] != "MEDIA" {
		t.Fatalf("media level overrides (RFC 4567 §3.1): %q", got)
	}
}

func FuzzAnswerCrypto(f *testing.F) {
	off, _ := negotiator(f, ModeSDES, Mandatory).Offer(context.Background(), overTLS)
	for _, v := range off.Lines().MediaValues(CryptoAttribute) {
		f.Add(v)
	}
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4")
	f.Add("1 AEAD_AES_256_GCM inline:" + base64.StdEncoding.EncodeToString(make([]byte, 44)))
	n := negotiator(f, ModeSDES, Mandatory)
	f.Fuzz(func(t *testing.T, v string) {
		_, k, err := n.Answer(context.Background(), true, Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, v)}}, overTLS)
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) || ke.Status != 488 {
				t.Fatalf("refusal is not a 488 *Error: %v", err)
			}
			return
		}
		if len(k.Send.MasterKey) == 0 || len(k.Recv.MasterKey) == 0 {
			t.Fatalf("accepted without keys: %s", k)
		}
	})
}

// A re-offer that keeps the keys repeats each side's active line and gives the same keys; a
// re-offer with a fresh key is refused.
func TestReofferKeepsKeys(t *testing.T) {
	ctx := context.Background()
	a, b := negotiator(t, ModeSDES, Mandatory), negotiator(t, ModeSDES, Mandatory)
	off, _ := a.Offer(ctx, overTLS)
	al, kb, err := b.Answer(ctx, true, off.Lines(), overTLS)
	if err != nil {
		t.Fatal(err)
	}
	ka, err := off.Accept(ctx, true, al, overTLS)
	if err != nil {
		t.Fatal(err)
	}
	// B re-offers (e.g. hold), A answers.
	re := b.Reoffer(kb)
	if v := re.Lines().MediaValues(CryptoAttribute); len(v) != 1 || v[0] != al.MediaValues(CryptoAttribute)[0] {
		t.Fatalf("re-offer lines %q", v)
	}
	ra, err := a.Reanswer(ka, true, re.Lines())
	if err != nil {
		t.Fatal(err)
	}
	k2, err := re.Accept(ctx, true, ra, overTLS)
	if err != nil || k2 != kb {
		t.Fatalf("re-answer: %v", err)
	}
	// A fresh key in a re-offer is a rekey: refused.
	fresh, _ := negotiator(t, ModeSDES, Mandatory).Offer(ctx, overTLS)
	if _, err := a.Reanswer(ka, true, Lines{Media: fresh.Lines().Media[:1]}); err == nil {
		t.Fatal("re-offer with a new key accepted")
	}
	if _, err := a.Reanswer(ka, false, Lines{}); err == nil {
		t.Fatal("re-offer dropping SRTP accepted")
	}
}

// With MIKEY keys, a re-offer keeps them when it repeats the key-mgmt messages unchanged.
func TestReofferKeepsMIKEYLines(t *testing.T) {
	ctx := context.Background()
	n := negotiator(t, ModeSDES, Preferred)
	initLine := Lines{Media: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey VElOSVQ=")}}
	respLine := Lines{Media: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey UkVTUA==")}}
	offerer := &Keys{Method: "mikey", local: initLine, peer: respLine}
	answerer := &Keys{Method: "mikey", local: respLine, peer: initLine}
	re := n.Reoffer(offerer)
	lines, err := n.Reanswer(answerer, true, re.Lines())
	if err != nil {
		t.Fatal(err)
	}
	if k, err := re.Accept(ctx, true, lines, overTLS); err != nil || k != offerer {
		t.Fatalf("accept: %v", err)
	}
	other := Lines{Media: []sdp.Attribute{sdp.NewAttribute(KeyMgmtAttribute, "mikey T1RIRVI=")}}
	if _, err := n.Reanswer(answerer, true, other); err == nil {
		t.Fatal("a new MIKEY message taken as a re-offer keeping the keys")
	}
}

// An SDES re-offer that repeats the whole initial offer, or renumbers the active line among
// others (RFC 4568 §7.1.4), keeps the keys: the answer is our active line under the tag of the
// offered line that carries the active key.
func TestReofferSeveralCryptoLines(t *testing.T) {
	ctx := context.Background()
	a, b := negotiator(t, ModeSDES, Mandatory), negotiator(t, ModeSDES, Mandatory)
	off, _ := a.Offer(ctx, overTLS)
	al, kb, err := b.Answer(ctx, true, off.Lines(), overTLS)
	if err != nil {
		t.Fatal(err)
	}
	// A re-offers: all its initial lines again; B re-answers with its active line.
	ra, err := b.Reanswer(kb, true, off.Lines())
	if err != nil {
		t.Fatalf("re-offer repeating the initial offer: %v", err)
	}
	if got, want := ra.MediaValues(CryptoAttribute), al.MediaValues(CryptoAttribute); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("re-answer %q, want the active line %q", got, want)
	}
	// The active key under a new tag 7, after a line with a fresh key under tag 1.
	active, err := sdes.Parse(off.Lines().MediaValues(CryptoAttribute)[0])
	if err != nil {
		t.Fatal(err)
	}
	active.Tag = 7
	freshOff, _ := negotiator(t, ModeSDES, Mandatory).Offer(ctx, overTLS)
	re := Lines{Media: []sdp.Attribute{freshOff.Lines().Media[0], sdp.NewAttribute(CryptoAttribute, active.Marshal())}}
	ra, err = b.Reanswer(kb, true, re)
	if err != nil {
		t.Fatalf("re-offer with the active key under tag 7: %v", err)
	}
	got, err := sdes.Parse(ra.MediaValues(CryptoAttribute)[0])
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := sdes.Parse(al.MediaValues(CryptoAttribute)[0])
	if got.Tag != 7 || !sameCryptoKeys(got, ours) {
		t.Fatalf("re-answer tag %d (want 7), same key %v", got.Tag, sameCryptoKeys(got, ours))
	}
	// Only fresh keys: a rekey, refused.
	if _, err := b.Reanswer(kb, true, freshOff.Lines()); err == nil {
		t.Fatal("re-offer with only new keys accepted")
	}
}

// overTLS is a stream whose SDP travels over TLS: SDES needs no extra permission.
var overTLS = Stream{SecureSignalling: true}
