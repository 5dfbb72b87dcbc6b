package bsf

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/imsphone/imsphone/gba"
)

func set1USIM(t testing.TB, sqnFile string) *gba.SoftUSIM {
	t.Helper()
	u, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: testIMPI, K: unhex(set1.k), OPc: unhex(set1.opc), SQNFile: sqnFile})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// usimBootstrap runs Ub with a SoftUSIM behind a Digest AKA answer assembled here (TS 24.109
// A.3–A.5; RFC 3310 §3.4 on resync). It returns the B-TID, the UE's Ks_NAF for the KMS and how
// many synchronisation failures the USIM reported.
func (e *testEnv) usimBootstrap(u *gba.SoftUSIM) (btid string, ksNAF []byte, syncFailures int) {
	e.t.Helper()
	resp, _ := e.ubGet(initialAuthz(u.IMPI()))
	for round := 0; round < 3; round++ {
		ch := e.challengeOf(resp)
		raw, err := base64.StdEncoding.DecodeString(ch.Nonce)
		if err != nil || len(raw) < 32 {
			e.t.Fatalf("nonce %q", ch.Nonce)
		}
		rnd, autn := raw[:16], raw[16:32]
		res, err := u.Authenticate(context.Background(), rnd, autn)
		var sf *gba.SyncFailure
		switch {
		case errors.As(err, &sf):
			syncFailures++
			resp, _ = e.ubGet(manualAnswer(ch, u.IMPI(), nil, base64.StdEncoding.EncodeToString(sf.AUTS), nil))
			continue
		case err != nil:
			e.t.Fatalf("USIM: %v", err)
		}
		resp, body := e.ubGet(manualAnswer(ch, u.IMPI(), res.RES, "", nil))
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		info, err := gba.ParseBootstrappingInfo(body)
		if err != nil {
			e.t.Fatal(err)
		}
		ks := append(append([]byte(nil), res.CK...), res.IK...)
		return info.BTID, gba.DeriveKsNAF(ks, rnd, u.IMPI(), kmsNAF), syncFailures
	}
	e.t.Fatal("no bootstrap after 3 challenges")
	return "", nil, 0
}

// TestResyncUSIMAhead: the USIM has accepted SQNs the AuC has not issued yet (it was used with
// another AuC copy); the first challenge fails the SQN check, the UE sends AUTS, the BSF resyncs
// and the second challenge succeeds.
func TestResyncUSIMAhead(t *testing.T) {
	u := set1USIM(t, "")
	// Move the USIM ahead: accept a vector with SQN 0x1001 from another AuC.
	ahead, err := NewAuC([]Subscriber{set1Subscriber(testIMPI, 0x1000)}, "")
	if err != nil {
		t.Fatal(err)
	}
	av, err := ahead.Vector(testIMPI, unhex(set1.rand))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Authenticate(context.Background(), av.RAND, av.AUTN); err != nil {
		t.Fatal(err)
	}

	e := startBSF(t, envOpts{subs: []Subscriber{set1Subscriber(testIMPI, 0x20)}})
	btid, ueKey, syncs := e.usimBootstrap(u)
	if syncs != 1 {
		t.Fatalf("%d synchronisation failures, want 1", syncs)
	}
	if sqn, _ := e.auc.SQN(testIMPI); sqn != 0x1042 {
		t.Fatalf("SQN_HE %012x after resync and one vector, want 1042 (SQN_MS 1021 → SEQ+1, IND+1)", sqn)
	}
	k, err := e.resolver(testToken).Resolve(context.Background(), btid, kmsNAF)
	if err != nil || string(k.Key) != string(ueKey) {
		t.Fatalf("Zn after resync: %v", err)
	}
	if e.metric("bsf_resyncs_total") != "1" {
		t.Fatal("resync not counted")
	}
	// The next bootstrap needs no resync.
	if _, _, syncs := e.usimBootstrap(u); syncs != 0 {
		t.Fatalf("second bootstrap: %d resyncs", syncs)
	}
}

// TestRestartNoResync: the BSF restarts (new AuC and Server over the same state file) and the
// USIM's next bootstrap succeeds without a resynchronisation.
func TestRestartNoResync(t *testing.T) {
	state := filepath.Join(t.TempDir(), "bsf-state.json")
	u := set1USIM(t, filepath.Join(t.TempDir(), "usim-sqn.json"))
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, statePath: state})
	for i := 0; i < 3; i++ {
		if _, _, syncs := e.usimBootstrap(u); syncs != 0 {
			t.Fatalf("bootstrap %d: %d resyncs", i, syncs)
		}
	}
	e.stop()
	e2 := startBSF(t, envOpts{subs: []Subscriber{sub}, statePath: state})
	btid, ueKey, syncs := e2.usimBootstrap(u)
	if syncs != 0 {
		t.Fatalf("after restart: %d resyncs", syncs)
	}
	if k, err := e2.resolver(testToken).Resolve(context.Background(), btid, kmsNAF); err != nil || string(k.Key) != string(ueKey) {
		t.Fatalf("Zn after restart: %v", err)
	}
	// Without the state file the AuC would start again at 0x20 and the USIM would refuse.
	e3 := startBSF(t, envOpts{subs: []Subscriber{sub}})
	if _, _, syncs := e3.usimBootstrap(u); syncs != 1 {
		t.Fatalf("control without state file: %d resyncs, want 1", syncs)
	}
}
