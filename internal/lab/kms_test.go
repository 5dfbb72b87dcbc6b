package lab_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
)

// steps collects a UE's traced exchanges.
type steps struct {
	mu sync.Mutex
	s  []lab.Step
}

func (s *steps) add(st lab.Step) {
	s.mu.Lock()
	s.s = append(s.s, st)
	s.mu.Unlock()
}

func (s *steps) names() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n []string
	for _, st := range s.s {
		if st.Err != nil {
			n = append(n, st.Name+"!")
		} else {
			n = append(n, st.Name)
		}
	}
	return strings.Join(n, ",")
}

func startLab(t *testing.T, opts lab.Options) *lab.Lab {
	t.Helper()
	cfg, err := lab.LoadConfig("testdata/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.Start(context.Background(), *cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab Close: %v", err)
		}
	})
	return l
}

func newUE(t *testing.T, l *lab.Lab, impi string, o lab.UEOptions) *lab.UE {
	t.Helper()
	u, err := l.NewUE(impi, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func negotiator(t *testing.T, u *lab.UE) *keymgmt.Negotiator {
	t.Helper()
	n, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeKMS, Requirement: keymgmt.Mandatory}, KMS: u.MIKEY, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sameSRTP(a, b keymgmt.SRTP) bool {
	return a.Profile == b.Profile && bytes.Equal(a.MasterKey, b.MasterKey) && bytes.Equal(a.MasterSalt, b.MasterSalt) &&
		bytes.Equal(a.MKI, b.MKI) && a.SSRC == b.SSRC
}

// The lab's KMS keys a call between two of its AKA subscribers: each UE bootstraps at the lab's
// BSF once, the caller requests a ticket, the callee resolves it (the KMS fetching its Ks_NAF
// over Zn), and both end with the same SRTP keys; the KMS audits two granted decisions.
func TestKMSCall(t *testing.T) {
	var mu sync.Mutex
	var audits []kms.AuditEvent
	l := startLab(t, lab.Options{KMSAudit: func(ev kms.AuditEvent) { mu.Lock(); audits = append(audits, ev); mu.Unlock() }})
	if l.KMSFQDN != "kms.home1.net" || !strings.HasPrefix(l.KMSURL, "http://127.0.0.1:") || !strings.HasSuffix(l.KMSURL, kms.DefaultPath) {
		t.Fatalf("KMS %q at %q", l.KMSFQDN, l.KMSURL)
	}
	if id := l.KMSNAFID(); !bytes.Equal(id.Bytes(), append([]byte("kms.home1.net"), 1, 0, 0, 0, 6)) {
		t.Fatalf("NAF_Id %x", id.Bytes())
	}
	var sa, sb steps
	a := newUE(t, l, "ue1@ims.home1.net", lab.UEOptions{Trace: sa.add})
	b := newUE(t, l, "ue2@ims.home1.net", lab.UEOptions{Trace: sb.add})
	ctx := context.Background()
	btid, life, err := a.Bootstrap(ctx)
	if err != nil || !strings.HasSuffix(btid, "@bsf.home1.net") || life.IsZero() {
		t.Fatalf("bootstrap: %q %v %v", btid, life, err)
	}
	streamA := keymgmt.Stream{Local: a.IMPU, Remote: b.IMPU, SSRC: 0x1111}
	streamB := keymgmt.Stream{Local: b.IMPU, Remote: a.IMPU, SSRC: 0x2222}
	off, err := negotiator(t, a).Offer(ctx, streamA)
	if err != nil {
		t.Fatal(err)
	}
	ans, kb, err := negotiator(t, b).Answer(ctx, true, off.Lines(), streamB)
	if err != nil {
		t.Fatal(err)
	}
	ka, err := off.Accept(ctx, true, ans, streamA)
	if err != nil {
		t.Fatal(err)
	}
	if ka.Method != "mikey" || !sameSRTP(ka.Send, kb.Recv) || !sameSRTP(ka.Recv, kb.Send) {
		t.Fatalf("keys differ: %v / %v", ka, kb)
	}
	if got, want := sa.names(), "bootstrap,ticket-request"; got != want {
		t.Errorf("caller steps %s, want %s", got, want)
	}
	if got, want := sb.names(), "bootstrap,ticket-resolve"; got != want {
		t.Errorf("callee steps %s, want %s", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(audits) != 2 || !audits[0].Granted || audits[0].Action != "request" || audits[0].IMPI != "ue1@ims.home1.net" ||
		!audits[1].Granted || audits[1].Action != "resolve" || audits[1].IMPI != "ue2@ims.home1.net" {
		t.Fatalf("audits %+v", audits)
	}
	if n := l.BSF.Metrics().Resyncs.Load(); n != 0 {
		t.Errorf("%d resyncs", n)
	}
}

// Two devices of one subscriber (one IMPI, two USIM instances, two bootstraps) resolve the same
// TRANSFER_INIT: the lab's UEs ask for key forking (RFC 6043 §5.1.1) and the lab policy grants
// it, so each device gets its own keys.
func TestKMSForkingTwoDevices(t *testing.T) {
	l := startLab(t, lab.Options{})
	a := newUE(t, l, "ue1@ims.home1.net", lab.UEOptions{})
	b1 := newUE(t, l, "ue2@ims.home1.net", lab.UEOptions{})
	b2 := newUE(t, l, "ue2@ims.home1.net", lab.UEOptions{})
	ctx := context.Background()
	streamA := keymgmt.Stream{Local: a.IMPU, Remote: "sip:ue2@home1.net", SSRC: 0x1111}
	off, err := negotiator(t, a).Offer(ctx, streamA)
	if err != nil {
		t.Fatal(err)
	}
	_, k1, err := negotiator(t, b1).Answer(ctx, true, off.Lines(), keymgmt.Stream{Local: b1.IMPU, Remote: a.IMPU, SSRC: 0x2222})
	if err != nil {
		t.Fatal(err)
	}
	_, k2, err := negotiator(t, b2).Answer(ctx, true, off.Lines(), keymgmt.Stream{Local: b2.IMPU, Remote: a.IMPU, SSRC: 0x3333})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k1.Recv.MasterKey, k2.Recv.MasterKey) || bytes.Equal(k1.Send.MasterKey, k2.Send.MasterKey) {
		t.Fatal("the two devices resolved the same keys")
	}
	bt1, _, _ := b1.Bootstrap(ctx)
	bt2, _, _ := b2.Bootstrap(ctx)
	if bt1 == bt2 {
		t.Fatal("the two devices share a B-TID")
	}
}

// The lab policy covers the lab's subscribers only: a ticket towards a stranger is refused by
// the KMS, and the refusal reaches the caller as a kms.Error.
func TestKMSRefusesStranger(t *testing.T) {
	l := startLab(t, lab.Options{})
	a := newUE(t, l, "ue1@ims.home1.net", lab.UEOptions{})
	_, err := negotiator(t, a).Offer(context.Background(), keymgmt.Stream{Local: a.IMPU, Remote: "sip:eve@elsewhere.example", SSRC: 1})
	var ke *kms.Error
	if !errors.As(err, &ke) || ke.Status != 403 {
		t.Fatalf("offer to a stranger: %v, want a KMS 403", err)
	}
}

func TestNewUEErrors(t *testing.T) {
	l := startLab(t, lab.Options{})
	for impi, want := range map[string]string{"nobody@home1.net": "no subscriber", "alice@home1.net": "Digest only"} {
		if _, err := l.NewUE(impi, lab.UEOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewUE(%q): %v, want %q", impi, err, want)
		}
	}
	noKMS, err := lab.Start(context.Background(), lab.Config{Domain: "home1.net", Subscribers: []lab.Subscriber{
		{IMPI: "u@home1.net", IMPUs: []string{"sip:u@home1.net"}, K: "465b5ce8b199b49faa5f0a2ee238a6bc", OPc: "cd63cb71954a9f4e48a5994e37a02baf"}}}, lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer noKMS.Close()
	if noKMS.KMSURL != "" {
		t.Fatal("a KMS without a BSF")
	}
	if _, err := noKMS.NewUE("u@home1.net", lab.UEOptions{}); err == nil || !strings.Contains(err.Error(), "BSF and the KMS") {
		t.Fatalf("NewUE without KMS: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nbogus: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := lab.Start(context.Background(), lab.Config{Domain: "home1.net", BSF: &lab.BSFConfig{}, KMS: &lab.KMSConfig{PolicyFile: bad}},
		lab.Options{}); err == nil || !strings.Contains(err.Error(), "KMS policy") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("Start with a bad policy file: %v", err)
	}
}
