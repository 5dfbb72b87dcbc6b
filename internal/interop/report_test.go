package interop

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "write docs/interop.md from this run")

// reportPath is the interop report, relative to this package.
var reportPath = filepath.Join("..", "..", "docs", "interop.md")

// peers lists the peers the report covers, how to read each one's version, and its known gaps.
var peers = []struct {
	name, prog string
	args       []string
	re         *regexp.Regexp
	gaps       []string
}{
	{"baresip", "baresip", []string{"-h"}, baresipVersionRE, []string{
		"baresip 1.0.0 offers only AES_CM_128_HMAC_SHA1_80 (not configurable), so that is the only suite tested with baresip as offerer.",
		"baresip 1.0.0 has no MIKEY: KMS keying (a=key-mgmt) cannot be tested against it.",
		"baresip 1.0.0 sends two RTCP packets in the clear (no SRTCP index or tag): an APP PINGPONG right after the answer and its BYE at hang-up; imsphone drops both and counts them as SRTCP authentication failures (at most 1 before the hang-up, 2 after; SRTP failures must be 0).",
		"With AES_CM_128_HMAC_SHA1_32 baresip 1.0.0 (libre 1.1.0) puts a 32-bit tag on SRTCP where RFC 4568 §6.2 requires 80 bits; imsphone refuses baresip's SRTCP (RTCP reports) in that suite, SRTP audio is unaffected.",
		"baresip answers an offer without a supported suite with a fresh AES_CM_128_HMAC_SHA1_80 line instead of 488 (RFC 4568 §7.1.2 violation); imsphone refuses that answer.",
		"baresip 1.0.0 logs \"session closed: Connection reset by peer\" whenever imsphone ends a call with BYE: libre's BYE handler ends the session with ECONNRESET (re src/sipsess/listen.c bye_handler), and libre reports a TCP connection its peer closed in order the same way (src/sip/transp.c tcp_close_handler); the line is no sign of a TCP reset. An INVITE with the five default suites is about 1 140 octets to baresip and goes by UDP; one over 1300 octets goes by TCP (RFC 3261 §18.1.1), baresip answers on that connection with a Contact naming transport=tcp, and imsphone's ACK, re-INVITEs and BYE reuse it; imsphone closes it with a FIN once the call is over (no reset on the wire).",
	}},
	{"SIPp", "sipp", []string{"-v"}, regexp.MustCompile(`SIPp (v[0-9][^ \n]*[^ \n.])`), []string{
		"SIPp 3.6.1 has no SRTP: its media is plain RTP, so SIPp tests check signalling and SDP only.",
	}},
	{"Kamailio", "kamailio", []string{"-v"}, regexp.MustCompile(`version: kamailio ([0-9][^ ]*)`), []string{
		"Kamailio cannot issue an AKAv1-MD5 challenge without a Diameter HSS; the AKA challenge is tested with SIPp as registrar instead.",
	}},
	{"tshark", "tshark", []string{"-v"}, regexp.MustCompile(`TShark \(Wireshark\) ([0-9][^ ]*)`), []string{
		"Wireshark 4.0 does not know the RFC 6043 payloads (TR, RANDR, TP, TICKET): MIKEY dissection stops at the first of them.",
		"Wireshark 4.0 does not know the GENERIC-ID CS ID map (type 2, RFC 6043 §6.1.1) of TRANSFER_INIT/RESP: it decodes their HDR up to the map type and then reads from the wrong offset, so only the HDR is compared for them.",
		"Wireshark decodes only session-level a=key-mgmt; imsphone puts MIKEY at media level, so those blobs are decoded offline (text2pcap, -d udp.port==2269,mikey). The KMS exchanges (HTTP, application/mikey) are decoded natively.",
		"The capture runs imsphone demo in a private network namespace (unshare -n, or unshare -r -n without CAP_SYS_ADMIN) so that it holds nothing else; where neither is permitted the test skips (fails with IMSPHONE_REQUIRE_PEERS=1).",
	}},
}

// reportLog collects what the tests saw. It is the one piece of shared state in this test
// package: tests record into it, TestMain renders it after m.Run.
type reportLog struct {
	mu       sync.Mutex
	rows     map[string]map[string]string // peer → check → result
	versions map[string]string
	skipped  []string        // tests skipped for a missing peer or -short
	gaps     map[string]bool // tests skipped by clientGap (their row is in the report)
}

var report = &reportLog{rows: map[string]map[string]string{}, versions: map[string]string{}, gaps: map[string]bool{}}

// check records the outcome of the calling test (or subtest) as one line of the report: "pass",
// "FAIL", or the skip reason for a documented client gap (clientGap).
func check(t *testing.T, peer, what string) {
	t.Cleanup(func() {
		res := "pass"
		switch {
		case t.Failed():
			res = "FAIL"
		case t.Skipped():
			report.mu.Lock()
			if !report.gaps[t.Name()] {
				report.skipped = append(report.skipped, t.Name())
			}
			report.mu.Unlock()
			return
		}
		report.set(peer, what, res)
	})
}

func (r *reportLog) set(peer, what, res string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rows[peer] == nil {
		r.rows[peer] = map[string]string{}
	}
	r.rows[peer][what] = res
}

// clientGap records a check that cannot run because package client lacks what it needs, and
// skips the test. Such rows are part of the report.
func clientGap(t *testing.T, peer, what, gap string) {
	t.Helper()
	report.set(peer, what, "not run: "+gap)
	report.mu.Lock()
	report.gaps[t.Name()] = true
	report.mu.Unlock()
	t.Skip("client gap: " + gap)
}

// version reads and records a peer's version from the program itself.
func version(t testing.TB, peer string) string {
	t.Helper()
	for _, p := range peers {
		if p.name != peer {
			continue
		}
		bin := requirePeer(t, p.prog)
		v, err := peerVersion(context.Background(), p.re, bin, p.args...)
		if err != nil {
			t.Fatal(err)
		}
		report.mu.Lock()
		report.versions[peer] = v
		report.mu.Unlock()
		return v
	}
	t.Fatalf("unknown peer %s", peer)
	return ""
}

// render writes the report in a stable order.
func (r *reportLog) render() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	b.WriteString("# imsphone interoperability report\n\n")
	b.WriteString("Generated by `go test ./internal/interop -update` from what the tests saw; a full run of\n")
	b.WriteString("`go test ./internal/interop` fails when this file disagrees. Peers run on loopback, started by\n")
	b.WriteString("the tests; versions are read from the peers at test time. Audio checks: each side sends its\n")
	b.WriteString("own tone (imsphone 1000 Hz, the peer 440 Hz); a recording passes when the other side's tone\n")
	b.WriteString("has SNR ≥ 20 dB (audio.DetectTone, upper quartile of 200 ms blocks), its strongest component\n")
	b.WriteString("is within 10 Hz of it, and the recording's own tone is below 0 dB (median block).\n")
	for _, p := range peers {
		if r.versions[p.name] == "" {
			continue
		}
		fmt.Fprintf(&b, "\n## %s %s\n\n", p.name, r.versions[p.name])
		rows := r.rows[p.name]
		checks := make([]string, 0, len(rows))
		for c := range rows {
			checks = append(checks, c)
		}
		slices.Sort(checks)
		b.WriteString("| check | result |\n|---|---|\n")
		for _, c := range checks {
			fmt.Fprintf(&b, "| %s | %s |\n", c, rows[c])
		}
		b.WriteString("\nKnown gaps:\n")
		for _, g := range p.gaps {
			fmt.Fprintf(&b, "- %s\n", g)
		}
	}
	return b.Bytes()
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	full := !testing.Short() && flag.Lookup("test.run").Value.String() == "" && len(report.skipped) == 0
	got := report.render()
	switch {
	case *update && code == 0:
		if !full {
			fmt.Fprintf(os.Stderr, "interop: -update needs a full run (no -short, no -run, no skipped peer test; skipped: %s)\n",
				strings.Join(report.skipped, ", "))
			os.Exit(1)
		}
		if err := os.WriteFile(reportPath, got, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case full && code == 0:
		want, err := os.ReadFile(reportPath)
		if err != nil || !bytes.Equal(want, got) {
			fmt.Fprintf(os.Stderr, "FAIL: %s disagrees with this run (%v); rerun with -update. This run saw:\n%s\n",
				reportPath, err, got)
			code = 1
		}
	}
	os.Exit(code)
}
