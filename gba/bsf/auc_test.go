package bsf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TS 35.208 test set 1 (spec digest §9.1, two published sources).
var set1 = struct{ k, opc, rand, sqn, amf, res, ck, ik, autn string }{
	k: "465b5ce8b199b49faa5f0a2ee238a6bc", opc: "cd63cb71954a9f4e48a5994e37a02baf",
	rand: "23553cbe9637a89d218ae64dae47bf35", sqn: "ff9bb4d0b607", amf: "b9b9",
	res: "a54211d5e3ba50bf", ck: "b40ba9a3c58b2a05bbf0d987b21bf8cb", ik: "f769bcd751044604127672711c6d3441",
	// AUTN = SQN⊕AK ‖ AMF ‖ MAC-A, spec digest §9.2 (computed twice there).
	autn: "55f328b43577b9b94a9ffac354dfafb3",
}

// set1SQNHE is the SQN_HE after which the SEQ‖IND scheme issues set 1's SQN ff9bb4d0b607
// (SEQ one lower, IND 6).
const set1SQNHE = 0xff9bb4d0b5e6

func set1Subscriber(impi string, sqn uint64) Subscriber {
	return Subscriber{IMPI: impi, K: unhex(set1.k), OPc: unhex(set1.opc), AMF: [2]byte{0xb9, 0xb9}, SQN: sqn}
}

func TestAuCVectorSet1(t *testing.T) {
	auc, err := NewAuC([]Subscriber{set1Subscriber("user1_private@home1.net", set1SQNHE)}, "")
	if err != nil {
		t.Fatal(err)
	}
	av, err := auc.Vector("user1_private@home1.net", unhex(set1.rand))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2][]byte{
		"AUTN": {av.AUTN, unhex(set1.autn)}, "XRES": {av.XRES, unhex(set1.res)},
		"CK": {av.CK, unhex(set1.ck)}, "IK": {av.IK, unhex(set1.ik)}, "RAND": {av.RAND, unhex(set1.rand)},
	} {
		if !bytes.Equal(c[0], c[1]) {
			t.Errorf("%s = %x, want %x", name, c[0], c[1])
		}
	}
	if sqn, _ := auc.SQN("user1_private@home1.net"); sqn != 0xff9bb4d0b607 {
		t.Errorf("SQN_HE %012x", sqn)
	}
	if _, err := auc.Vector("nobody@home1.net", unhex(set1.rand)); !errors.Is(err, ErrUnknownIMPI) {
		t.Errorf("unknown IMPI: %v", err)
	}
}

func TestAuCResyncSet1(t *testing.T) {
	auc, err := NewAuC([]Subscriber{set1Subscriber("u@h", 0x20)}, "")
	if err != nil {
		t.Fatal(err)
	}
	// AUTS for set 1 with SQN_MS = ffffffffffe0 (spec digest §9.2, computed twice there).
	auts := unhex("bae174135bdb7e7c2343eb59207b")
	bad := append([]byte(nil), auts...)
	bad[13] ^= 1
	if _, err := auc.Resync("u@h", unhex(set1.rand), bad); err == nil {
		t.Fatal("AUTS with a wrong MAC-S accepted")
	}
	if sqn, _ := auc.SQN("u@h"); sqn != 0x20 {
		t.Fatalf("SQN_HE moved on a failed resync: %012x", sqn)
	}
	sqnMS, err := auc.Resync("u@h", unhex(set1.rand), auts)
	if err != nil || sqnMS != 0xffffffffffe0 {
		t.Fatalf("SQN_MS %012x, %v", sqnMS, err)
	}
	if sqn, _ := auc.SQN("u@h"); sqn != 0xffffffffffe0 {
		t.Fatalf("SQN_HE %012x after resync", sqn)
	}
	// SEQ_MS is the largest 43-bit SEQ: the AuC must refuse to wrap around (the USIM would refuse
	// every lower SEQ).
	if _, err := auc.Vector("u@h", unhex(set1.rand)); err == nil {
		t.Fatal("vector issued after SEQ exhaustion")
	}
}

func TestAuCPersists(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	subs := []Subscriber{set1Subscriber("a@h", 0x20), set1Subscriber("b@h", 0x40)}
	auc, err := NewAuC(subs, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := auc.Vector("a@h", unhex(set1.rand)); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := auc.SQN("a@h")
	auc2, err := NewAuC(subs, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := auc2.SQN("a@h"); got != want || want != 0x83 {
		t.Fatalf("SQN_HE after restart %012x, want %012x (= 0x83: SEQ 1→4, IND 0→3)", got, want)
	}
	if got, _ := auc2.SQN("b@h"); got != 0x40 {
		t.Fatalf("untouched subscriber: %012x", got)
	}
	// A subscriber dropped from the configuration keeps its state entry.
	auc3, err := NewAuC(subs[1:], p)
	if err != nil {
		t.Fatal(err)
	}
	auc3.Vector("b@h", unhex(set1.rand))
	st, _ := loadState(p)
	if st["a@h"] != 0x83 {
		t.Fatalf("state lost a@h: %v", st)
	}
}

func TestAuCSaveFailureKeepsSQN(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	auc, err := NewAuC([]Subscriber{set1Subscriber("a@h", 0x20)}, filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The state directory becomes a file: every save fails from now on.
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auc.Vector("a@h", unhex(set1.rand)); err == nil {
		t.Fatal("vector issued although SQN_HE could not be saved")
	}
	if got, _ := auc.SQN("a@h"); got != 0x20 {
		t.Fatalf("SQN_HE %012x after a failed save", got)
	}
}

func TestNewAuCChecks(t *testing.T) {
	good := set1Subscriber("a@h", 0)
	for name, subs := range map[string][]Subscriber{
		"dup":   {good, good},
		"k":     {{IMPI: "a", K: []byte{1}, OPc: good.OPc}},
		"opc":   {{IMPI: "a", K: good.K}},
		"impi":  {{K: good.K, OPc: good.OPc}},
		"sqn48": {{IMPI: "a", K: good.K, OPc: good.OPc, SQN: 1 << 48}},
	} {
		if _, err := NewAuC(subs, ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
