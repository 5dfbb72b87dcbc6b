package cli

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/gba/zn"
)

const (
	testIMPI   = "user1_private@home1.net"
	testRealm  = "bsf.home1.net"
	testZnAuth = "cli-test-zn-token-0123456789"
)

var testNow = time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)

// startBSF runs gba/bsf in-process on 127.0.0.1 with the TS 35.208 set 1 subscriber. Its RANDs are
// the set 1 RAND (the BSF reads RAND, then 16 bytes of opaque, per challenge), so Ks = CK || IK of
// TS 35.208 set 1.
func startBSF(t *testing.T, sqn uint64) (ubURL, znURL string) {
	t.Helper()
	k, _ := hex.DecodeString(set1K)
	opc, _ := hex.DecodeString(set1OPc)
	auc, err := bsf.NewAuC([]bsf.Subscriber{{IMPI: testIMPI, K: k, OPc: opc, AMF: [2]byte{0x80, 0}, SQN: sqn}}, "")
	if err != nil {
		t.Fatal(err)
	}
	rnd, _ := hex.DecodeString(set1RAND)
	var src []byte
	for i := 0; i < 8; i++ {
		src = append(append(src, rnd...), bytes.Repeat([]byte{byte(i)}, 16)...)
	}
	srv, err := bsf.New(bsf.Config{Realm: testRealm, Domain: testRealm, KeyLifetime: time.Hour, ZnBearerTokens: []string{testZnAuth}},
		auc, bsf.Options{Now: func() time.Time { return testNow }, Rand: bytes.NewReader(src)})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	znl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ub, znl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("BSF: %v", err)
		}
	})
	return "http://" + ub.Addr().String() + "/", "http://" + znl.Addr().String()
}

// ksNAFByHand is TS 33.220 B.2/B.3 written out with crypto/hmac, independent of package gba:
// HMAC-SHA-256(Ks, FC || P0 || L0 || P1 || L1 || P2 || L2 || P3 || L3), FC = 0x01, P0 = "gba-me",
// P1 = RAND, P2 = IMPI, P3 = NAF_Id = FQDN || Ua security protocol id, Li two octets.
func ksNAFByHand(ks, rand []byte, impi, fqdn string, prot []byte) []byte {
	s := []byte{0x01}
	for _, p := range [][]byte{[]byte("gba-me"), rand, []byte(impi), append([]byte(fqdn), prot...)} {
		s = binary.BigEndian.AppendUint16(append(s, p...), uint16(len(p)))
	}
	mac := hmac.New(sha256.New, ks)
	mac.Write(s)
	return mac.Sum(nil)
}

func TestGBABootstrap(t *testing.T) {
	ubURL, znURL := startBSF(t, 0x20)
	args := []string{"gba", "bootstrap", "--bsf", ubURL, "--impi", testIMPI, "--k", set1K, "--op", set1OP,
		"--naf", "kms.home1.net", "--json"}
	r := run(t, "", args...)
	r.want(t, ExitOK)
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// B-TID = base64(RAND)@BSF domain (TS 33.220 §4.5.2) with the set 1 RAND.
	if v["btid"] != "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net" || v["impi"] != testIMPI || v["rand"] != set1RAND {
		t.Errorf("%v", v)
	}
	if v["lifetime"] != "2026-11-26T20:00:00Z" || v["valid_for"] != "1h0m0s" {
		t.Errorf("lifetime %s valid for %s", v["lifetime"], v["valid_for"])
	}
	if _, ok := v["ks"]; ok || v["ks_naf"] != "" || strings.Contains(r.stderr, "warning") {
		t.Errorf("keys printed without --show-keys: %v", v)
	}
	ks, _ := hex.DecodeString(set1F3 + set1F4) // Ks = CK || IK (TS 33.220 §4.5.2), TS 35.208 set 1
	rnd, _ := hex.DecodeString(set1RAND)
	want := ksNAFByHand(ks, rnd, testIMPI, "kms.home1.net", []byte{1, 0, 0, 0, 6})
	sum := sha256.Sum256(want)
	if v["ks_naf_sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("Ks_NAF fingerprint %s, want %x", v["ks_naf_sha256"], sum)
	}
	// The NAF (the KMS) gets the same key from the BSF over Zn.
	res, err := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: znURL, BearerToken: testZnAuth})
	if err != nil {
		t.Fatal(err)
	}
	defer res.CloseIdleConnections()
	key, err := res.Resolve(context.Background(), v["btid"], gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()})
	if err != nil {
		t.Fatal(err)
	}
	if zsum := sha256.Sum256(key.Key); hex.EncodeToString(zsum[:]) != v["ks_naf_sha256"] {
		t.Errorf("Zn Ks_NAF differs from the UE's")
	}

	// --show-keys: Ks and Ks_NAF in text form, with a warning.
	r = run(t, "", "gba", "bootstrap", "--bsf", ubURL, "--impi", testIMPI, "--k", set1K, "--opc", set1OPc,
		"--naf", "kms.home1.net", "--show-keys")
	r.want(t, ExitOK)
	if outField(t, r.stdout, "Ks") != set1F3+set1F4 || outField(t, r.stdout, "Ks_NAF") != hex.EncodeToString(want) {
		t.Errorf("--show-keys:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "warning: --show-keys") {
		t.Errorf("no warning: %q", r.stderr)
	}
}

// A USIM whose SQN file records a higher SQN than a fresh AuC holds: the client sends AUTS,
// the BSF resynchronises (TS 33.102 §6.3.5) and the bootstrap succeeds.
func TestGBABootstrapSQNFileResync(t *testing.T) {
	sqnFile := filepath.Join(t.TempDir(), "usim.sqn")
	ubURL, _ := startBSF(t, 0x1000)
	args := []string{"gba", "bootstrap", "--impi", testIMPI, "--k", set1K, "--opc", set1OPc, "--sqn-file", sqnFile}
	run(t, "", append(args, "--bsf", ubURL)...).want(t, ExitOK)
	ubURL2, _ := startBSF(t, 0x20) // a fresh AuC behind: its SQN_HE is below the USIM's SQN_MS
	r := run(t, "", append(args, "--bsf", ubURL2, "--log-level", "debug")...)
	r.want(t, ExitOK)
	if !strings.Contains(r.stderr, "resynchronising") {
		t.Errorf("no resynchronisation logged:\n%s", r.stderr)
	}
	if outField(t, r.stdout, "B-TID") != "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net" {
		t.Errorf("%s", r.stdout)
	}
}

func TestGBABootstrapErrors(t *testing.T) {
	ubURL, _ := startBSF(t, 0x20)
	// A wrong K: AUTN fails the USIM's MAC check, nothing is bootstrapped.
	r := run(t, "", "gba", "bootstrap", "--bsf", ubURL, "--impi", testIMPI, "--k", strings.Repeat("00", 16), "--opc", set1OPc)
	r.want(t, ExitError)
	if !strings.Contains(r.stderr, "bootstrap") || r.stdout != "" {
		t.Errorf("stderr %q stdout %q", r.stderr, r.stdout)
	}
	// An unknown IMPI.
	r = run(t, "", "gba", "bootstrap", "--bsf", ubURL, "--impi", "nobody@home1.net", "--k", set1K, "--opc", set1OPc)
	r.want(t, ExitError)
	// Nothing listening.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	r = run(t, "", "gba", "bootstrap", "--bsf", "http://"+addr+"/", "--impi", testIMPI, "--k", set1K, "--opc", set1OPc, "--timeout", "5s")
	r.want(t, ExitError)
	// Usage errors.
	for _, args := range [][]string{
		{"--bsf", "bsf.home1.net", "--impi", testIMPI, "--k", set1K, "--opc", set1OPc},
		{"--bsf", ubURL, "--impi", testIMPI, "--k", set1K},
		{"--bsf", ubURL, "--impi", testIMPI, "--k", set1K, "--opc", set1OPc, "--naf", "https://kms.home1.net/"},
		{"--bsf", ubURL, "--impi", testIMPI, "--k", set1K, "--opc", set1OPc, "--naf", "kms", "--ua-protocol", "0100"},
		{"--bsf", ubURL, "--k", set1K, "--opc", set1OPc},
	} {
		r := run(t, "", append([]string{"gba", "bootstrap"}, args...)...)
		r.want(t, ExitUsage)
		if strings.Contains(r.stderr, set1K) {
			t.Errorf("K in stderr")
		}
	}
}
