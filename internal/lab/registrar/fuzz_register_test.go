package registrar

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
)

// fakeTx is a server transaction that records responses, for driving onRegister without a
// network.
type fakeTx struct {
	res  []*sip.Response
	done chan struct{}
}

func (f *fakeTx) Respond(r *sip.Response) error      { f.res = append(f.res, r); return nil }
func (f *fakeTx) Acks() <-chan *sip.Request          { return nil }
func (f *fakeTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (f *fakeTx) Terminate()                         {}
func (f *fakeTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (f *fakeTx) Done() <-chan struct{}              { return f.done }
func (f *fakeTx) Err() error                         { return nil }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// zeroNonce is the nonce every password challenge gets when Rand reads zeros.
const zeroNonce = "00000000000000000000000000000000"

const fuzzRegisterHead = "REGISTER sip:home1.net SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n" +
	"From: <sip:alice@home1.net>;tag=a\r\n" +
	"To: <sip:alice@home1.net>\r\n" +
	"Call-ID: fuzz-1\r\n" +
	"CSeq: %d REGISTER\r\n" +
	"Max-Forwards: 70\r\n"

func fuzzRegisterMsg(cseq int, extra string) []byte {
	return []byte(fmt.Sprintf(fuzzRegisterHead, cseq) + extra + "Content-Length: 0\r\n\r\n")
}

// FuzzRegister feeds arbitrary SIP messages to the registrar after a challenge has been issued
// (so that authenticated seeds reach the binding code). It fails on a panic, on a request left
// without exactly one response, and on a status code the registrar never means to send.
func FuzzRegister(f *testing.F) {
	ch := &gba.Challenge{Realm: testDomain, Nonce: zeroNonce, Algorithm: "MD5"}
	good := independentDigest(ch, "alice@home1.net", "alice-secret", "REGISTER", "sip:home1.net", "c")
	for _, extra := range []string{
		"Contact: <sip:alice@127.0.0.1:5070>\r\nExpires: 600\r\n",
		"Authorization: " + good + "\r\nContact: <sip:alice@127.0.0.1:5070>;expires=30, <sip:alice@127.0.0.1:5071>\r\n",
		"Authorization: " + good + "\r\nContact: <sip:alice@127.0.0.1:5070>;expires=99999999999\r\nExpires: 1\r\n",
		"Authorization: " + good + "\r\nContact: *\r\nExpires: 0\r\n",
		"Authorization: " + good + "\r\nContact: *, <sip:a@b>\r\nExpires: 0\r\n",
		"Authorization: " + good + "\r\nContact: <sip:alice@127.0.0.1:5070>;expires=-1\r\n",
		"Authorization: " + good + "\r\n",
		"Authorization: Digest username=\"ue1@ims.home1.net\", realm=\"home1.net\", uri=\"sip:home1.net\", nonce=\"\", response=\"\"\r\n",
		"Authorization: Digest username=\"ue1@ims.home1.net\", realm=\"home1.net\", uri=\"sip:home1.net\", nonce=\"AAAA\", response=\"00\", auts=\"!!\", qop=auth, nc=1, cnonce=x\r\n",
		"Authorization: Basic YWxpY2U6c2VjcmV0\r\n",
	} {
		f.Add(fuzzRegisterMsg(2, extra))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Method != sip.REGISTER {
			return
		}
		auc, err := bsf.NewAuC([]bsf.Subscriber{{IMPI: "ue1@ims.home1.net", K: set1K, OPc: set1OPc, AMF: [2]byte{0x80, 0}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		clock := &fakeClock{t: time.Unix(1.7e9, 0)}
		cfg := Config{Domain: testDomain, Host: "127.0.0.1", Accounts: testAccounts(), DigestAlgorithms: []string{"MD5"}}
		s, err := New(cfg, auc, Options{Now: clock.Now, Rand: io.Reader(zeroReader{})})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		req.SetSource("127.0.0.1:5070")
		// Issue the challenge the seeds answer.
		first, _ := sip.ParseMessage(fuzzRegisterMsg(1, ""))
		tx0 := &fakeTx{}
		s.onRegister(first.(*sip.Request), tx0)
		tx := &fakeTx{}
		s.onRegister(req, tx)
		if len(tx.res) != 1 {
			t.Fatalf("%d responses", len(tx.res))
		}
		code := tx.res[0].StatusCode
		if !slices.Contains([]int{200, 400, 401, 403, 404, 423, 500}, code) {
			t.Fatalf("unexpected status %d", code)
		}
		if code == 200 && bytes.Contains(data, []byte("Contact: *")) && len(s.Location().Lookup("sip:alice@home1.net")) != 0 {
			t.Fatalf("Contact * accepted but bindings remain")
		}
	})
}

// TestFuzzRegisterSeedsReachBinding makes sure the authenticated seeds of FuzzRegister really
// get past authentication, so the fuzzer starts inside the binding code.
func TestFuzzRegisterSeedsReachBinding(t *testing.T) {
	ch := &gba.Challenge{Realm: testDomain, Nonce: zeroNonce, Algorithm: "MD5"}
	good := independentDigest(ch, "alice@home1.net", "alice-secret", "REGISTER", "sip:home1.net", "c")
	cfg := Config{Domain: testDomain, Host: "127.0.0.1", Accounts: testAccounts(), DigestAlgorithms: []string{"MD5"}}
	clock := &fakeClock{t: time.Unix(1.7e9, 0)}
	s, err := New(cfg, nil, Options{Now: clock.Now, Rand: zeroReader{}})
	if err == nil {
		t.Fatal("AKA accounts without an AuC accepted")
	}
	cfg.Accounts = cfg.Accounts[:3]
	if s, err = New(cfg, nil, Options{Now: clock.Now, Rand: zeroReader{}}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		extra string
		want  int
	}{
		{"Authorization: " + good + "\r\nContact: <sip:alice@127.0.0.1:5070>;expires=30\r\n", 423},
		{"Authorization: " + good + "\r\nContact: <sip:alice@127.0.0.1:5070>;expires=99999999999\r\n", 200},
		{"Authorization: " + good + "\r\nContact: <sip:alice@127.0.0.1:5070>;expires=-1\r\n", 400},
	} {
		first, _ := sip.ParseMessage(fuzzRegisterMsg(1, ""))
		s.onRegister(first.(*sip.Request), &fakeTx{})
		m, err := sip.ParseMessage(fuzzRegisterMsg(2, tc.extra))
		if err != nil {
			t.Fatal(err)
		}
		tx := &fakeTx{}
		m.(*sip.Request).SetSource("127.0.0.1:5070")
		s.onRegister(m.(*sip.Request), tx)
		if len(tx.res) != 1 || tx.res[0].StatusCode != tc.want {
			t.Errorf("%q: %v, want %d", tc.extra, tx.res, tc.want)
		}
	}
}
