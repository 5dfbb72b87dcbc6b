package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/internal/lab/demo"
	"github.com/imsphone/imsphone/media/audio"
)

// runDemo runs imsphone demo in-process with crypto/rand (the demo draws subscriber keys and
// call identifiers; run's fixed 4 KiB source is too short for a call).
func runDemoCmd(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), Env{Stdout: &out, Stderr: &errb}, append([]string{"demo"}, args...))
	return result{code, out.String(), errb.String()}
}

func demoReport(t *testing.T, r result) demo.Report {
	t.Helper()
	var rep demo.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, r.stdout)
	}
	return rep
}

func stepNames(rep demo.Report) string {
	var n []string
	for _, s := range rep.Steps {
		n = append(n, s.Name+"/"+s.Party)
	}
	return strings.Join(n, " ")
}

// The demo in each security mode: exit 0, the steps of that mode in order, the negotiated suite
// and key source, both directions with packets, no authentication failure, matching tones, and
// nothing that looks like a key in the output.
func TestDemoModes(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, tc := range []struct {
		mode, suite, keys, transport, steps string
	}{
		{"kms", "AES_CM_128_HMAC_SHA1_80", "mikey", "udp", "register/alice register/bob bootstrap/alice bootstrap/bob ticket-request/alice ticket-resolve/bob call-setup/alice media/both hangup/alice"},
		{"sdes", "AES_CM_128_HMAC_SHA1_80", "sdes", "tls", "register/alice register/bob call-setup/alice media/both hangup/alice"},
		{"none", "none", "none", "udp", "register/alice register/bob call-setup/alice media/both hangup/alice"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := runDemoCmd(t, "--security", tc.mode, "--duration", "1.5s", "--json")
			r.want(t, 0)
			rep := demoReport(t, r)
			if !rep.OK || rep.Security != tc.mode || rep.Suite != tc.suite || rep.Keys != tc.keys || rep.SIPTransport != tc.transport || len(rep.Failures) != 0 {
				t.Fatalf("report %+v", rep)
			}
			if got := stepNames(rep); got != tc.steps {
				t.Fatalf("steps %s\nwant  %s", got, tc.steps)
			}
			for _, s := range rep.Steps {
				if s.Error != "" || s.MS <= 0 {
					t.Fatalf("step %+v", s)
				}
			}
			if len(rep.Media) != 2 || rep.Media[0].Direction != "alice->bob" || rep.Media[1].Direction != "bob->alice" {
				t.Fatalf("media %+v", rep.Media)
			}
			for _, f := range rep.Media {
				a := f.Audio
				if f.PacketsReceived < 50 || f.PacketsSent < f.PacketsReceived || f.SRTPAuthFailures != 0 || f.SRTCPAuthFailures != 0 ||
					f.MOS < 4 || !a.Matched || a.SNRdB == nil || *a.SNRdB < 20 || a.OtherSNRdB == nil || *a.OtherSNRdB > 0 {
					t.Fatalf("flow %+v, audio %+v", f, a)
				}
			}
			noKeys(t, r.stdout+r.stderr)
		})
	}
}

// noKeys fails if out holds a run of 32 or more hex digits or a base64 run long enough to be
// an SRTP master key and salt (40 characters).
func noKeys(t *testing.T, out string) {
	t.Helper()
	for _, w := range strings.FieldsFunc(out, func(r rune) bool { return strings.ContainsRune(" \n\t\"=,:{}[]()", r) }) {
		if len(w) >= 32 {
			if _, err := hex.DecodeString(w); err == nil {
				t.Fatalf("hex that may be a key in the output: %s", w)
			}
		}
		if len(w) >= 40 {
			if _, err := base64.StdEncoding.DecodeString(w); err == nil {
				t.Fatalf("base64 that may be a key in the output: %s", w)
			}
		}
	}
}

// The text report names every step and ends with OK; --play sends a WAV whose arrival is
// checked by correlation.
func TestDemoTextAndPlay(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	// A WAV at 16 kHz: two tones, 300 and 700 Hz, changing amplitude, so only the right delay
	// correlates.
	path := filepath.Join(t.TempDir(), "in.wav")
	w, err := audio.CreateWAV(path, 16000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 16000*3)
	for i := range pcm {
		x := float64(i) / 16000
		pcm[i] = int16(8000 * (math.Sin(2*math.Pi*300*x) + math.Sin(2*math.Pi*700*x)*math.Sin(2*math.Pi*1.3*x)))
	}
	if err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := runDemoCmd(t, "--play", path, "--duration", "2s")
	r.want(t, 0)
	for _, want := range []string{"register alice", "bootstrap alice", "ticket-request alice", "ticket-resolve bob", "call-setup alice",
		"media both", "hangup alice", "suite AES_CM_128_HMAC_SHA1_80, keys from mikey", "auth fails SRTP 0, SRTCP 0",
		"wav " + path + ": matched, correlation", "tone 1000 Hz: matched", "result OK"} {
		if !has(r.stdout, want) {
			t.Errorf("no %q in\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "... alice calls bob") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}
}

// Wrong invocations exit 2 before anything starts; a failure (a WAV that cannot be read)
// exits 1 with a report that says why.
func TestDemoFailures(t *testing.T) {
	for _, args := range [][]string{{"--security", "zrtp"}, {"--duration", "10ms"}, {"extra"}} {
		runDemoCmd(t, args...).want(t, ExitUsage)
	}
	if testing.Short() {
		return
	}
	r := runDemoCmd(t, "--play", filepath.Join(t.TempDir(), "missing.wav"), "--json")
	r.want(t, ExitError)
	rep := demoReport(t, r)
	if rep.OK || len(rep.Failures) == 0 || !strings.Contains(rep.Failures[0], "--play") {
		t.Fatalf("report %+v", rep)
	}
}
