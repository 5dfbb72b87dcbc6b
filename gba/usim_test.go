package gba

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testSubscriber is TS 35.208 set 1 (K, OPc) with an AuC-side Milenage for making AUTNs.
func testSubscriber(t testing.TB) (k, opc []byte, auc *Milenage) {
	s := ts35208[0]
	k, opc = unhex(t, s.k), unhex(t, s.opc)
	auc, err := NewMilenage(k, opc)
	if err != nil {
		t.Fatal(err)
	}
	return k, opc, auc
}

func seqind(seq, ind uint64) uint64 { return seq<<5 | ind }

func TestSoftUSIMSuccessAndSync(t *testing.T) {
	k, opc, auc := testSubscriber(t)
	u, err := NewSoftUSIM(SoftUSIMConfig{IMPI: chainIMPI, K: k, OPc: opc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rand := unhex(t, ts35208[0].rand)
	av, _ := GenerateAuthVector(auc, rand, seqind(1, 1), []byte{0x80, 0})
	r, err := u.Authenticate(ctx, av.RAND, av.AUTN)
	if err != nil {
		t.Fatal(err)
	}
	// RES/CK/IK are the published TS 35.208 set 1 f2/f3/f4 outputs
	checkHex(t, "RES", r.RES, ts35208[0].f2)
	checkHex(t, "CK", r.CK, ts35208[0].f3)
	checkHex(t, "IK", r.IK, ts35208[0].f4)
	if s := fmt.Sprintf("%v %s %+v", r, r, r); strings.Contains(s, ts35208[0].f2) || strings.Contains(s, ts35208[0].f3) {
		t.Fatalf("AKAResult leaks: %s", s)
	}

	// replay: same AUTN → synchronisation failure whose AUTS carries SQN_MS = SEQ 1 ‖ IND 1
	_, err = u.Authenticate(ctx, av.RAND, av.AUTN)
	var sf *SyncFailure
	if !errors.As(err, &sf) {
		t.Fatalf("replay: %v, want *SyncFailure", err)
	}
	sqnMS, err := ResyncSQN(auc, av.RAND, sf.AUTS)
	if err != nil || sqnMS != seqind(1, 1) {
		t.Fatalf("ResyncSQN = %x, %v", sqnMS, err)
	}

	// out of order on another IND with a lower-or-equal SEQ is fresh (Annex C.2.2 array)
	av2, _ := GenerateAuthVector(auc, rand, seqind(1, 2), []byte{0x80, 0})
	if _, err := u.Authenticate(ctx, av2.RAND, av2.AUTN); err != nil {
		t.Fatalf("SEQ 1 IND 2: %v", err)
	}
	// same IND, not higher SEQ: refused
	av3, _ := GenerateAuthVector(auc, rand, seqind(1, 2), []byte{0x80, 0})
	if _, err := u.Authenticate(ctx, av3.RAND, av3.AUTN); !errors.As(err, &sf) {
		t.Fatalf("SEQ 1 IND 2 again: %v", err)
	}

	// MAC failure: flip a bit of MAC-A
	bad := append([]byte(nil), av.AUTN...)
	bad[15] ^= 0x01
	if _, err := u.Authenticate(ctx, av.RAND, bad); !errors.Is(err, ErrMACFailure) {
		t.Fatalf("bad MAC: %v", err)
	}
	// a wrong K also gives a MAC failure, never a sync failure
	other, _ := NewMilenage(unhex(t, ts35208[1].k), unhex(t, ts35208[1].opc))
	avO, _ := GenerateAuthVector(other, rand, seqind(9, 0), []byte{0x80, 0})
	if _, err := u.Authenticate(ctx, avO.RAND, avO.AUTN); !errors.Is(err, ErrMACFailure) {
		t.Fatalf("other K: %v", err)
	}
	if s := fmt.Sprint(u); strings.Contains(s, hex.EncodeToString(k)) {
		t.Fatalf("SoftUSIM leaks: %s", s)
	}
}

func TestSoftUSIMDeltaAndL(t *testing.T) {
	k, opc, auc := testSubscriber(t)
	u, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OPc: opc, Delta: 100, L: 10})
	ctx := context.Background()
	rand := make([]byte, 16)
	auth := func(sqn uint64) error {
		av, _ := GenerateAuthVector(auc, rand, sqn, []byte{0, 0})
		_, err := u.Authenticate(ctx, av.RAND, av.AUTN)
		return err
	}
	var sf *SyncFailure
	if err := auth(seqind(101, 0)); !errors.As(err, &sf) || !strings.Contains(sf.Reason, "Δ=100") {
		t.Fatalf("SEQ 101 from 0 with Δ 100: %v", err)
	}
	if err := auth(seqind(100, 0)); err != nil {
		t.Fatalf("SEQ 100: %v", err)
	}
	if err := auth(seqind(91, 1)); err != nil {
		t.Fatalf("SEQ 91 (9 behind, L 10): %v", err)
	}
	if err := auth(seqind(90, 2)); !errors.As(err, &sf) || !strings.Contains(sf.Reason, "L=10") {
		t.Fatalf("SEQ 90 (10 behind, L 10): %v", err)
	}
	if got := u.SQNMS(); got != seqind(100, 0) {
		t.Fatalf("SQN_MS = %x", got)
	}
	// The famous set 1 SQN ff9bb4d0b607 is far beyond Δ for a new USIM.
	u2, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OPc: opc})
	av, _ := GenerateAuthVector(auc, rand, 0xff9bb4d0b607, []byte{0, 0})
	if _, err := u2.Authenticate(ctx, av.RAND, av.AUTN); !errors.As(err, &sf) {
		t.Fatalf("huge jump: %v", err)
	}
}

func TestSoftUSIMSingleCounterAndAMF(t *testing.T) {
	k, opc, auc := testSubscriber(t)
	u, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OP: unhex(t, ts35208[0].op), SingleCounter: true, AMF: []byte{0x80, 0}})
	_ = opc
	ctx := context.Background()
	rand := make([]byte, 16)
	for _, tc := range []struct {
		sqn  uint64
		amf  []byte
		want string
	}{{5, []byte{0x80, 0}, ""}, {5, []byte{0x80, 0}, "sync"}, {4, []byte{0x80, 0}, "sync"}, {6, []byte{0x80, 0}, ""},
		{7, []byte{0, 0}, "amf"}, {7, []byte{0x80, 0}, ""}} {
		av, _ := GenerateAuthVector(auc, rand, tc.sqn, tc.amf)
		_, err := u.Authenticate(ctx, av.RAND, av.AUTN)
		var sf *SyncFailure
		switch {
		case tc.want == "" && err != nil, tc.want == "sync" && !errors.As(err, &sf), tc.want == "amf" && !errors.Is(err, ErrAMF):
			t.Fatalf("SQN %d AMF %x: %v, want %s", tc.sqn, tc.amf, err, tc.want)
		}
	}
}

func TestSoftUSIMPersistence(t *testing.T) {
	k, opc, auc := testSubscriber(t)
	path := filepath.Join(t.TempDir(), "usim.sqn")
	cfg := SoftUSIMConfig{IMPI: "u", K: k, OPc: opc, SQNFile: path}
	ctx := context.Background()
	rand := make([]byte, 16)
	av1, _ := GenerateAuthVector(auc, rand, seqind(1, 1), []byte{0, 0})
	u, _ := NewSoftUSIM(cfg)
	if _, err := u.Authenticate(ctx, av1.RAND, av1.AUTN); err != nil {
		t.Fatal(err)
	}
	u.Close()
	if _, err := u.Authenticate(ctx, av1.RAND, av1.AUTN); err == nil {
		t.Fatal("closed USIM still authenticates")
	}
	// a second "run" reads the file: the old AUTN is refused, the next one accepted
	u2, err := NewSoftUSIM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sf *SyncFailure
	if _, err := u2.Authenticate(ctx, av1.RAND, av1.AUTN); !errors.As(err, &sf) {
		t.Fatalf("replay after restart: %v", err)
	}
	av2, _ := GenerateAuthVector(auc, rand, seqind(2, 2), []byte{0, 0})
	if _, err := u2.Authenticate(ctx, av2.RAND, av2.AUTN); err != nil {
		t.Fatalf("next after restart: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	// other IND length: refuse rather than reset
	if _, err := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OPc: opc, SQNFile: path, SingleCounter: true}); err == nil {
		t.Fatal("state with another IND length accepted")
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := NewSoftUSIM(cfg); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt state: %v", err)
	}
	// unwritable state: RES is not released
	u3, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OPc: opc, SQNFile: filepath.Join(t.TempDir(), "missing-dir", "s")})
	if _, err := u3.Authenticate(ctx, av1.RAND, av1.AUTN); err == nil || !strings.Contains(err.Error(), "not saved") {
		t.Fatalf("unsaved SQN: %v", err)
	}
	if u3.SQNMS() != 0 {
		t.Fatal("unsaved SQN kept in memory")
	}
}

func TestSoftUSIMConfigErrors(t *testing.T) {
	k, opc, _ := testSubscriber(t)
	for i, cfg := range []SoftUSIMConfig{
		{K: k, OPc: opc},
		{IMPI: "u", K: k},
		{IMPI: "u", K: k, OP: opc, OPc: opc},
		{IMPI: "u", K: k[:15], OPc: opc},
		{IMPI: "u", K: k, OPc: opc, AMF: []byte{1}},
		{IMPI: "u", K: k, OPc: opc, INDBits: 11},
	} {
		if _, err := NewSoftUSIM(cfg); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	u, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OPc: opc})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := u.Authenticate(ctx, make([]byte, 16), make([]byte, 16)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := u.Authenticate(context.Background(), make([]byte, 15), make([]byte, 16)); err == nil {
		t.Error("short RAND accepted")
	}
	if _, err := u.Authenticate(context.Background(), make([]byte, 16), make([]byte, 17)); err == nil {
		t.Error("long AUTN accepted")
	}
}

func TestSoftUSIMConcurrent(t *testing.T) {
	k, opc, auc := testSubscriber(t)
	u, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: "u", K: k, OPc: opc, SQNFile: filepath.Join(t.TempDir(), "s")})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			av, _ := GenerateAuthVector(auc, make([]byte, 16), seqind(1, uint64(i)), []byte{0, 0})
			_, err := u.Authenticate(context.Background(), av.RAND, av.AUTN)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if u.SQNMS()>>5 != 1 {
		t.Errorf("SQN_MS = %x", u.SQNMS())
	}
}
