package interop

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/media/audio"
)

func newNonce(t testing.TB) string { return hex.EncodeToString([]byte(newKey(t, 12)))[:32] }

// SIPp as registrar challenges with 401 (Digest MD5, qop=auth) and checks the response with
// its own verifyauth; imsphone registers, is granted 60 s, and removes the binding.
func TestSippRegisterDigest401(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "401 challenge to REGISTER (Digest MD5, qop=auth) answered, verified by SIPp's verifyauth; binding removed")
	s := startSipp(t, "reg_auth", "", map[string]string{"NONCE": newNonce(t), "USER": "alice", "PASSWORD": "alicepw", "EXPIRES": "60"})
	a := newPhone(t, "alice", nil, nil)
	ctx := context.Background()
	reg, err := a.Register(ctx, client.RegisterOptions{Registrar: fmt.Sprintf("sip:127.0.0.1:%d", s.port),
		Username: "alice", Password: "alicepw", Expires: 120 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Expires() != 60*time.Second {
		t.Fatalf("granted %v, want the registrar's 60 s", reg.Expires())
	}
	if err := reg.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 10*time.Second)
}

// SIPp answers the first REGISTER 503 with Retry-After: 2; imsphone must wait 2 s and retry.
func TestSippRegister503RetryAfter(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "503 with Retry-After: 2 to REGISTER: imsphone retries after 2 s and registers")
	s := startSipp(t, "reg_503", "", map[string]string{"RETRY_AFTER": "2"})
	a := newPhone(t, "alice", nil, nil)
	ctx := context.Background()
	start := time.Now()
	reg, err := a.Register(ctx, client.RegisterOptions{Registrar: fmt.Sprintf("sip:127.0.0.1:%d", s.port)})
	if err != nil {
		t.Fatal(err)
	}
	// Retry-After is a protocol value, not a speed figure: the retry must not come earlier.
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("registered %v after the first REGISTER: Retry-After: 2 not honoured", el)
	}
	if err := reg.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 10*time.Second)
}

// TS 35.208 test set 1 (3GPP TS 35.208 V17 §4.3.1 / "Test Set 1"): K, RAND, OP(c), AMF and the
// published f1 MAC-A (for SQN ff9bb4d0b607), f2 RES and f5 AK.
const (
	ts35208K      = "465b5ce8b199b49faa5f0a2ee238a6bc"
	ts35208RAND   = "23553cbe9637a89d218ae64dae47bf35"
	ts35208OPc    = "cd63cb71954a9f4e48a5994e37a02baf"
	ts35208AMF    = "b9b9"
	ts35208SQN    = "ff9bb4d0b607"
	ts35208MACA   = "4a9ffac354dfafb3"
	ts35208RES    = "a54211d5e3ba50bf"
	ts35208AK     = "aa689c648370"
	akaRealm      = "home1.net"
	akaIMPI       = "user1_private@home1.net"
	akaSQNForTest = 0x20 // SEQ 1, IND 0: fresh for a new SoftUSIM (TS 33.102 C.1.2)
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SIPp as IMS registrar challenges with AKAv1-MD5 (RFC 3310). The test builds RAND‖AUTN with
// package gba's Milenage from the TS 35.208 test-set 1 keys, after checking that Milenage gives
// the published MAC-A, RES and AK; it computes the expected Digest response independently
// (crypto/md5 over RFC 2617 §3.2.2.1 with password = RES, RFC 3310 §3.2) and writes it into
// the scenario's regexp: SIPp refuses (403) any other response. imsphone answers with its
// software USIM (the same K and OPc).
func TestSippRegisterAKA(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "AKAv1-MD5 401 (RAND/AUTN from TS 35.208 set 1 via Milenage), response checked by SIPp against an independent computation")
	m, err := gba.NewMilenage(unhex(t, ts35208K), unhex(t, ts35208OPc))
	if err != nil {
		t.Fatal(err)
	}
	rand, amf := unhex(t, ts35208RAND), unhex(t, ts35208AMF)
	macA, _, err := m.F1(rand, unhex(t, ts35208SQN), amf)
	if err != nil {
		t.Fatal(err)
	}
	res, _, _, ak, err := m.F2345(rand)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(macA) != ts35208MACA || hex.EncodeToString(res) != ts35208RES || hex.EncodeToString(ak) != ts35208AK {
		t.Fatal("Milenage disagrees with TS 35.208 test set 1")
	}
	var sqn [8]byte
	binary.BigEndian.PutUint64(sqn[:], akaSQNForTest)
	macA, _, err = m.F1(rand, sqn[2:], amf)
	if err != nil {
		t.Fatal(err)
	}
	autn := make([]byte, 0, 16)
	for i := range 6 {
		autn = append(autn, sqn[2+i]^ak[i])
	}
	autn = append(append(autn, amf...), macA...)
	nonce := base64.StdEncoding.EncodeToString(append(bytes.Clone(rand), autn...))

	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: akaIMPI, K: unhex(t, ts35208K), OPc: unhex(t, ts35208OPc)})
	if err != nil {
		t.Fatal(err)
	}
	defer usim.Close()
	// The response depends on the digest-uri, which is the REGISTER's Request-URI: the
	// registrar URI given below, so the scenario is written once SIPp's port is known.
	expect := func(uri string) string {
		h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
		ha1 := h(akaIMPI + ":" + akaRealm + ":" + string(res))
		ha2 := h("REGISTER:" + uri)
		return h(ha1 + ":" + nonce + ":" + ha2)
	}
	s := startSippAt(t, "reg_aka", func(port int) map[string]string {
		return map[string]string{"REALM": akaRealm, "NONCE": nonce, "EXPIRES": "600",
			"RESPONSE": expect(fmt.Sprintf("sip:127.0.0.1:%d", port))}
	})
	a := newPhone(t, "alice", nil, nil)
	ctx := context.Background()
	reg, err := a.Register(ctx, client.RegisterOptions{Registrar: fmt.Sprintf("sip:127.0.0.1:%d", s.port),
		AOR: "sip:user1_public1@home1.net", USIM: usim})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 10*time.Second)
	if !strings.Contains(s.logged(t), "AKA response matched: response=") {
		t.Fatalf("scenario log: %s", s.logged(t))
	}
}

// startSippAt is startSipp for scenarios whose text depends on SIPp's own port.
func startSippAt(t testing.TB, name string, subst func(port int) map[string]string, args ...string) *sipp {
	t.Helper()
	port := freeUDPPort(t)
	return startSippPort(t, name, "", port, subst(port), args...)
}

// SIPp challenges imsphone's INVITE with 407 (Digest MD5, qop=auth) and checks the second
// INVITE's Proxy-Authorization with verifyauth; the call is answered and hung up by imsphone.
// The offer carries one suite: see TestSippInvite407DefaultSuites.
func TestSippInvite407(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "407 challenge to INVITE answered with Proxy-Authorization (verified by SIPp), call answered, imsphone hangs up")
	invite407(t, []string{"AES_CM_128_HMAC_SHA1_80"})
}

// The same with imsphone's default offer (five a=crypto lines): the challenged INVITE with
// Proxy-Authorization grows past 1300 octets, so the client sends it by TCP (RFC 3261
// §18.1.1). This SIPp listens on UDP only: the TCP attempt is refused and the fallback to UDP
// is refused by sipgo's datagram limit, which is recorded as a gap; any other outcome fails.
func TestSippInvite407DefaultSuites(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	what := "407 challenge to an INVITE offering the default 5 SDES suites (authenticated INVITE > 1300 octets over UDP)"
	check(t, "SIPp", what)
	if err := invite407(t, nil); err != nil {
		if strings.Contains(err.Error(), "larger than MTU") {
			clientGap(t, "SIPp", what, "the client sends the authenticated INVITE (> 1300 octets) by TCP per RFC 3261 §18.1.1; this SIPp listens on UDP only, and the fallback datagram is over sipgo's UDP limit. Tried with SIPp on TCP (-t t1) and the Phone on Transport tcp: SIPp 3.6.1's verifyauth answers 403 to the Proxy-Authorization over TCP even with one suite (the same flow passes over UDP); not explained yet")
		}
		t.Fatal(err)
	}
}

// invite407 runs uas_407 with an offer of these suites; it returns the call's end event as
// an error when the call ended before it was answered.
func invite407(t *testing.T, suites []string) error {
	t.Helper()
	s := startSipp(t, "uas_407", "", map[string]string{"NONCE": newNonce(t), "USER": "alice", "PASSWORD": "alicepw", "ANSWER_KEY": newKey(t, 30)})
	p, err := client.NewPhone(client.Config{User: "alice", Username: "alice", Password: "alicepw",
		Security: newPhoneSecurity(suites)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	c, err := p.Dial(ctx, s.uri("sipp"), client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-c.Events():
			switch e.Kind {
			case client.EventEnded:
				return fmt.Errorf("call ended: %v", e)
			case client.EventAnswered:
				if err := c.Hangup(ctx); err != nil {
					t.Fatal(err)
				}
				s.wait(t, 10*time.Second)
				return nil
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
		}
	}
}

// SIPp rejects the call with 486 Busy Here; imsphone reports it and ACKs (SIPp waits for the
// ACK).
func TestSippBusy486(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "486 Busy Here reported with its code, ACKed")
	s := startSipp(t, "uas_486", "", nil)
	a := newPhone(t, "alice", nil, nil)
	c, err := a.Dial(context.Background(), s.uri("sipp"), client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := waitEnded(t, c, 10*time.Second)
	if e.Code != 486 || e.By != client.Remote {
		t.Fatalf("ended %v, want 486 from the far end", e)
	}
	s.wait(t, 10*time.Second)
}

// CANCEL before the answer: imsphone hangs up while SIPp rings; SIPp answers the CANCEL with
// 200 and the INVITE with 487, which imsphone ACKs (SIPp waits for it); the call ends By Local
// with 487.
func TestSippCancel(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "CANCEL before the answer: 200 to CANCEL, 487 to the INVITE reported and ACKed")
	s := startSipp(t, "uas_cancel", "", nil)
	if e := hangUpWhileRinging(t, s); e.By != client.Local || e.Code != 487 {
		t.Fatalf("ended %v, want by us with 487", e)
	}
	s.wait(t, 10*time.Second)
}

// hangUpWhileRinging calls SIPp's UAS, hangs up at the first 18x and returns how the call ended.
func hangUpWhileRinging(t *testing.T, s *sipp) client.Event {
	t.Helper()
	a := newPhone(t, "alice", nil, nil)
	ctx := context.Background()
	c, err := a.Dial(ctx, s.uri("sipp"), client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, client.EventRinging, 10*time.Second)
	if err := c.Hangup(ctx); err != nil && !errors.Is(err, client.ErrCallEnded) {
		t.Fatal(err)
	}
	return waitEnded(t, c, 10*time.Second)
}

// CANCEL race: imsphone hangs up while ringing, SIPp answers 200 to the INVITE before it
// answers the CANCEL; imsphone must ACK the 2xx and send BYE (SIPp waits for both).
func TestSippCancelRace(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "CANCEL crossing a 200: imsphone ACKs the 2xx and sends BYE")
	s := startSipp(t, "uas_cancel_race", "", map[string]string{"ANSWER_KEY": newKey(t, 30)})
	t.Logf("ended: %v", hangUpWhileRinging(t, s))
	s.wait(t, 10*time.Second)
}

// SIPp calls imsphone (auto answer) with RTP/SAVP and two a=crypto lines; imsphone answers one
// with its tag; SIPp then holds (re-INVITE a=sendonly, answered a=recvonly with the same key)
// and resumes, and hangs up: BYE from the far end. The re-offers repeat the accepted line only.
func TestSippCallsImsphone(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	check(t, "SIPp", "SIPp UAC calls imsphone (auto answer) with RTP/SAVP + 2 a=crypto; re-INVITE hold (recvonly, same key) and resume; BYE from far end")
	k1, k2 := newKey(t, 30), newKey(t, 30)
	runUACReinvite(t, k1, k2, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+k1)
}

// The same with re-offers that repeat both a=crypto lines (the active one and the other
// offered suite, unchanged keys), as many SDES phones re-offer: RFC 4568 §7.1.4 lets the
// answerer keep the active line.
func TestSippReofferAllCryptoLines(t *testing.T) {
	realTime(t)
	version(t, "SIPp")
	what := "re-INVITE repeating both offered a=crypto lines (keys unchanged) answered with the active line"
	check(t, "SIPp", what)
	k1, k2 := newKey(t, 30), newKey(t, 30)
	s := runUACReinviteNoCheck(t, k1, k2, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+k1+"\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"+k2)
	if err := s.proc.wait(20 * time.Second); err != nil {
		t.Fatalf("sipp: %v\n%s", err, s.messages(t))
	}
	checkSameAnswerKeys(t, s)
}

func runUACReinvite(t *testing.T, k1, k2, reoffer string) {
	t.Helper()
	s := runUACReinviteNoCheck(t, k1, k2, reoffer)
	s.wait(t, 20*time.Second)
	checkSameAnswerKeys(t, s)
}

func runUACReinviteNoCheck(t *testing.T, k1, k2, reoffer string) *sipp {
	t.Helper()
	a := newPhone(t, "alice", nil, &client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate)})
	addr := a.Addr()
	return startSipp(t, "uac_crypto", addr.String(), map[string]string{"USER": "alice", "KEY1": k1, "KEY2": k2,
		"REOFFER_CRYPTO": reoffer})
}

func checkSameAnswerKeys(t *testing.T, s *sipp) {
	t.Helper()
	log := s.logged(t)
	keys := regexp.MustCompile(`key[123]=([A-Za-z0-9+/=]+)`).FindAllStringSubmatch(log, -1)
	if len(keys) != 3 || keys[0][1] != keys[1][1] || keys[1][1] != keys[2][1] {
		t.Fatalf("answer keys across re-INVITEs: %v\n%s", keys, log)
	}
}
