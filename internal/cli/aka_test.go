package cli

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/gba"
)

// 3GPP TS 35.208 §4.3, test set 1 (inputs, OPc and the f1..f5* outputs).
const (
	set1K    = "465b5ce8b199b49faa5f0a2ee238a6bc"
	set1RAND = "23553cbe9637a89d218ae64dae47bf35"
	set1SQN  = "ff9bb4d0b607"
	set1AMF  = "b9b9"
	set1OP   = "cdc202d5123e20f62b6d676ac72cb318"
	set1OPc  = "cd63cb71954a9f4e48a5994e37a02baf"
	set1F1   = "4a9ffac354dfafb3" // MAC-A
	set1F2   = "a54211d5e3ba50bf" // RES
	set1F3   = "b40ba9a3c58b2a05bbf0d987b21bf8cb"
	set1F4   = "f769bcd751044604127672711c6d3441"
	set1F5   = "aa689c648370" // AK
)

// set1AUTN is (SQN XOR AK) || AMF || MAC-A (TS 33.102 §6.3.2) from the TS 35.208 set 1 values,
// XORed here rather than copied, so the test does not depend on another self-computed vector.
func set1AUTN(t *testing.T) string {
	sqn, _ := hex.DecodeString(set1SQN)
	ak, _ := hex.DecodeString(set1F5)
	for i := range sqn {
		sqn[i] ^= ak[i]
	}
	return hex.EncodeToString(sqn) + set1AMF + set1F1
}

func TestAKAUSIMSet1(t *testing.T) {
	autn := set1AUTN(t)
	if autn != "55f328b43577b9b94a9ffac354dfafb3" {
		t.Fatalf("AUTN %s", autn)
	}
	for _, key := range []string{"--op", "--opc"} {
		val := set1OP
		if key == "--opc" {
			val = set1OPc
		}
		r := run(t, "", "aka", "--k", set1K, key, val, "--rand", set1RAND, "--autn", autn)
		r.want(t, ExitOK)
		for label, want := range map[string]string{"RES": set1F2, "CK": set1F3, "IK": set1F4, "AK": set1F5,
			"SQN": set1SQN, "AMF": set1AMF, "MAC-A": set1F1, "XMAC-A": set1F1, "MAC-A check": "yes"} {
			if got := outField(t, r.stdout, label); got != want {
				t.Errorf("%s: %s = %s, want %s", key, label, got, want)
			}
		}
		if key == "--op" {
			if got := outField(t, r.stdout, "OPc"); got != set1OPc {
				t.Errorf("OPc = %s, want %s", got, set1OPc)
			}
		} else if strings.Contains(r.stdout, "OPc:") {
			t.Errorf("OPc printed although it was given")
		}
	}
}

func TestAKAUSIMJSON(t *testing.T) {
	r := run(t, "", "aka", "--k", set1K, "--op", set1OP, "--rand", set1RAND, "--autn", set1AUTN(t), "--json")
	r.want(t, ExitOK)
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	want := map[string]any{"opc": set1OPc, "res": set1F2, "ck": set1F3, "ik": set1F4, "ak": set1F5,
		"sqn": set1SQN, "amf": set1AMF, "mac_a_ok": true, "result": "success"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %v, want %v", k, v[k], w)
		}
	}
}

func TestAKAGenerateSet1(t *testing.T) {
	r := run(t, "", "aka", "--generate", "--k", set1K, "--op", set1OP, "--rand", set1RAND,
		"--sqn", "0x"+set1SQN, "--amf", set1AMF)
	r.want(t, ExitOK)
	for label, want := range map[string]string{"RAND": set1RAND, "AUTN": set1AUTN(t), "XRES": set1F2,
		"CK": set1F3, "IK": set1F4, "OPc": set1OPc} {
		if got := outField(t, r.stdout, label); got != want {
			t.Errorf("%s = %s, want %s", label, got, want)
		}
	}
	// Decimal SQN gives the same vector.
	r2 := run(t, "", "aka", "--generate", "--k", set1K, "--opc", set1OPc, "--rand", set1RAND,
		"--sqn", "281044218590727", "--amf", set1AMF)
	r2.want(t, ExitOK)
	if got := outField(t, r2.stdout, "AUTN"); got != set1AUTN(t) {
		t.Errorf("decimal SQN: AUTN = %s", got)
	}
}

func TestAKAGenerateRandomRAND(t *testing.T) {
	r := run(t, "", "aka", "--generate", "--k", set1K, "--opc", set1OPc, "--sqn", "32", "--amf", "8000", "--json")
	r.want(t, ExitOK)
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v["rand"] != strings.Repeat("5a", 16) { // the injected random source
		t.Fatalf("rand = %s", v["rand"])
	}
	// The USIM side accepts the generated vector and agrees on RES, CK, IK.
	u := run(t, "", "aka", "--k", set1K, "--opc", set1OPc, "--rand", v["rand"], "--autn", v["autn"], "--json")
	u.want(t, ExitOK)
	var w map[string]any
	if err := json.Unmarshal([]byte(u.stdout), &w); err != nil {
		t.Fatal(err)
	}
	if w["res"] != v["xres"] || w["ck"] != v["ck"] || w["ik"] != v["ik"] || w["sqn"] != "000000000020" {
		t.Errorf("USIM %v vs vector %v", w, v)
	}
}

func TestAKASyncFailureAUTS(t *testing.T) {
	sqnMS := uint64(0xffffffffff00) // above the set 1 SQN
	r := run(t, "", "aka", "--k", set1K, "--opc", set1OPc, "--rand", set1RAND, "--autn", set1AUTN(t),
		"--sqn-ms", "0xffffffffff00")
	r.want(t, ExitSyncFail)
	if strings.Contains(r.stdout, "RES:") || strings.Contains(r.stdout, set1F3) {
		t.Errorf("RES/CK released on sync failure:\n%s", r.stdout)
	}
	auts, err := hex.DecodeString(outField(t, r.stdout, "AUTS"))
	if err != nil || len(auts) != gba.AUTSLen {
		t.Fatalf("AUTS %x %v", auts, err)
	}
	// The AuC side (TS 33.102 §6.3.5, a separate code path: f5* unmasking and the MAC-S check)
	// recovers SQN_MS from the printed AUTS.
	k, _ := hex.DecodeString(set1K)
	opc, _ := hex.DecodeString(set1OPc)
	rnd, _ := hex.DecodeString(set1RAND)
	m, _ := gba.NewMilenage(k, opc)
	got, err := gba.ResyncSQN(m, rnd, auts)
	if err != nil || got != sqnMS {
		t.Fatalf("ResyncSQN = %#x, %v; want %#x", got, err, sqnMS)
	}
	// SQN_MS below SQN: fresh, RES released.
	r = run(t, "", "aka", "--k", set1K, "--opc", set1OPc, "--rand", set1RAND, "--autn", set1AUTN(t), "--sqn-ms", "5")
	r.want(t, ExitOK)
	if outField(t, r.stdout, "RES") != set1F2 {
		t.Error("RES")
	}
}

func TestAKAMACFailure(t *testing.T) {
	autn := []byte(set1AUTN(t))
	autn[len(autn)-1] ^= 1 // flip a bit of MAC-A
	r := run(t, "", "aka", "--k", set1K, "--opc", set1OPc, "--rand", set1RAND, "--autn", string(autn))
	r.want(t, ExitAuthFail)
	if outField(t, r.stdout, "MAC-A check") != "no" || strings.Contains(r.stdout, "RES:") {
		t.Errorf("output:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "MAC in AUTN does not verify") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestAKABadInput(t *testing.T) {
	autn := set1AUTN(t)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"bad hex K", []string{"--k", "465b5ce8b199b49faa5f0a2ee238a6bZ", "--opc", set1OPc, "--rand", set1RAND, "--autn", autn}, "--k: not hex: character 'Z' at position 31"},
		{"short K", []string{"--k", "465b5ce8", "--opc", set1OPc, "--rand", set1RAND, "--autn", autn}, "--k: 4 bytes, want 16"},
		{"odd RAND", []string{"--k", set1K, "--opc", set1OPc, "--rand", set1RAND + "1", "--autn", autn}, "--rand: odd number of hex digits"},
		{"long AUTN", []string{"--k", set1K, "--opc", set1OPc, "--rand", set1RAND, "--autn", autn + "00"}, "--autn: 17 bytes, want 16"},
		{"OP and OPc", []string{"--k", set1K, "--op", set1OP, "--opc", set1OPc, "--rand", set1RAND, "--autn", autn}, "[op opc] were all set"},
		{"no OP", []string{"--k", set1K, "--rand", set1RAND, "--autn", autn}, "at least one of the flags in the group [op opc] is required"},
		{"no K", []string{"--opc", set1OPc, "--rand", set1RAND, "--autn", autn}, `required flag(s) "k" not set`},
		{"no AUTN", []string{"--k", set1K, "--opc", set1OPc, "--rand", set1RAND}, "needs --rand and --autn"},
		{"generate without SQN", []string{"--generate", "--k", set1K, "--opc", set1OPc, "--amf", "8000"}, "--generate needs --sqn and --amf"},
		{"SQN too big", []string{"--generate", "--k", set1K, "--opc", set1OPc, "--amf", "8000", "--sqn", "0x1000000000000"}, "does not fit in 48 bits"},
		{"bad SQN", []string{"--generate", "--k", set1K, "--opc", set1OPc, "--amf", "8000", "--sqn", "ff9b"}, "want a decimal number or 0x"},
		{"bad AMF", []string{"--generate", "--k", set1K, "--opc", set1OPc, "--amf", "80", "--sqn", "1"}, "--amf: 1 bytes, want 2"},
		{"stray argument", []string{"--k", set1K, "--opc", set1OPc, "extra"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", append([]string{"aka"}, c.args...)...)
			r.want(t, ExitUsage)
			if !strings.Contains(r.stderr, c.msg) {
				t.Errorf("stderr %q does not contain %q", r.stderr, c.msg)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			if strings.Contains(r.stderr, set1K) {
				t.Errorf("stderr echoes K")
			}
		})
	}
}
