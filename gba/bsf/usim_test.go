package bsf

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

func set1USIM(t testing.TB, sqnFile string) *gba.SoftUSIM {
	t.Helper()
	u, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: testIMPI, K: unhex(set1.k), OPc: unhex(set1.opc), SQNFile: sqnFile})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ueBootstrap runs Ub with the project's UE: gba.UbClient over a gba.SoftUSIM (TS 24.109 A.3–A.5,
// A.4 on resync), with the test clock. It returns the UE's bootstrap and its Ks_NAF for the KMS.
func (e *testEnv) ueBootstrap(u *gba.SoftUSIM) (*gba.Bootstrap, []byte) {
	e.t.Helper()
	c := &gba.UbClient{BSFURL: e.ubURL + "/", USIM: u, HTTPClient: e.ubHTTP, Realm: testRealm, Clock: e.clk.Now}
	b, err := c.Bootstrap(context.Background())
	if err != nil {
		e.t.Fatalf("UE bootstrap: %v", err)
	}
	return b, b.KsNAF(kmsNAF)
}

func (e *testEnv) resyncs() string { return e.metric("bsf_resyncs_total") }

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
	b, ueKey := e.ueBootstrap(u)
	if e.resyncs() != "1" {
		t.Fatalf("%s resynchronisations, want 1", e.resyncs())
	}
	if sqn, _ := e.auc.SQN(testIMPI); sqn != 0x1042 {
		t.Fatalf("SQN_HE %012x after resync and one vector, want 1042 (SQN_MS 1021 → SEQ+1, IND+1)", sqn)
	}
	k, err := e.resolver(testToken).Resolve(context.Background(), b.BTID, kmsNAF)
	if err != nil || string(k.Key) != string(ueKey) {
		t.Fatalf("Zn after resync: %v", err)
	}
	// The next bootstrap needs no resync.
	e.ueBootstrap(u)
	if e.resyncs() != "1" {
		t.Fatalf("second bootstrap resynchronised (%s in all)", e.resyncs())
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
		e.ueBootstrap(u)
	}
	if e.resyncs() != "0" {
		t.Fatalf("%s resyncs before the restart", e.resyncs())
	}
	e.stop()
	e2 := startBSF(t, envOpts{subs: []Subscriber{sub}, statePath: state})
	b, ueKey := e2.ueBootstrap(u)
	if e2.resyncs() != "0" {
		t.Fatalf("after restart: %s resyncs", e2.resyncs())
	}
	if k, err := e2.resolver(testToken).Resolve(context.Background(), b.BTID, kmsNAF); err != nil || string(k.Key) != string(ueKey) {
		t.Fatalf("Zn after restart: %v", err)
	}
	// Control: without the state file the AuC starts again at 0x20 and the USIM refuses once.
	e3 := startBSF(t, envOpts{subs: []Subscriber{sub}})
	e3.ueBootstrap(u)
	if e3.resyncs() != "1" {
		t.Fatalf("control without state file: %s resyncs, want 1", e3.resyncs())
	}
}

// TestUEBootstrapZnExpiry is the whole GBA path with the project's UE: UbClient + SoftUSIM
// bootstrap, the KMS's Zn client gets the same Ks_NAF for NAF_Id kms.home1.net ‖ 01 00 00 00 06,
// the key expires with the (injected) clock, Zn answers 404, the UE bootstraps again.
func TestUEBootstrapZnExpiry(t *testing.T) {
	u := set1USIM(t, "")
	e := startBSF(t, envOpts{})
	b, ueKey := e.ueBootstrap(u)
	if want := gba.BTID(b.RAND, testRealm); b.BTID != want {
		t.Fatalf("B-TID %s, want %s", b.BTID, want)
	}
	if !b.Lifetime.Equal(e.clk.Now().Add(12 * time.Hour)) {
		t.Fatalf("lifetime %v", b.Lifetime)
	}
	kms := gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()}
	cache := zn.NewCache(e.resolver(testToken), zn.CacheConfig{Now: e.clk.Now})
	ctx := context.Background()
	k, err := cache.Resolve(ctx, b.BTID, kms)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Key, ueKey) || !bytes.Equal(k.Key, b.KsNAF(kms)) || k.IMPI != testIMPI || !k.Expiry.Equal(b.Lifetime) {
		t.Fatalf("KMS and UE disagree: %v vs UE lifetime %v", k, b.Lifetime)
	}

	e.clk.Add(12*time.Hour + time.Second)
	if b.Valid(e.clk.Now()) {
		t.Fatal("UE still considers the key valid")
	}
	if _, err := cache.Resolve(ctx, b.BTID, kms); !errors.Is(err, zn.ErrUnknownBTID) {
		t.Fatalf("expired B-TID through the cache: %v", err)
	}
	b2, ueKey2 := e.ueBootstrap(u)
	if b2.BTID == b.BTID {
		t.Fatal("re-bootstrap kept the B-TID")
	}
	if k, err := cache.Resolve(ctx, b2.BTID, kms); err != nil || !bytes.Equal(k.Key, ueKey2) {
		t.Fatalf("after re-bootstrap: %v", err)
	}
	if e.metric("bsf_bootstraps_ok_total") != "2" || e.metric("bsf_zn_lookups_not_found_total") != "1" {
		t.Fatal("metrics")
	}
}

// TestUEMACFailure: a BSF whose AuC holds another K produces AUTNs the USIM rejects; the UE
// reports the MAC failure (empty response) and the BSF answers 403, counting a failure.
func TestUEMACFailure(t *testing.T) {
	wrong := set1Subscriber(testIMPI, 0x20)
	wrong.K = unhex("0396eb317b6d1c36f19c1c84cd6ffd16") // TS 35.208 set 2 K
	e := startBSF(t, envOpts{subs: []Subscriber{wrong}})
	c := &gba.UbClient{BSFURL: e.ubURL + "/", USIM: set1USIM(t, ""), HTTPClient: e.ubHTTP, Clock: e.clk.Now}
	if _, err := c.Bootstrap(context.Background()); !errors.Is(err, gba.ErrMACFailure) {
		t.Fatalf("bootstrap with a foreign AuC: %v", err)
	}
	if e.metric("bsf_bootstraps_failed_total") != "1" || e.metric("bsf_bootstraps_ok_total") != "0" {
		t.Fatal("metrics")
	}
}
