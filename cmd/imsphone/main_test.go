package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TS 35.208 §4.3 test set 1.
const (
	set1K    = "465b5ce8b199b49faa5f0a2ee238a6bc"
	set1OP   = "cdc202d5123e20f62b6d676ac72cb318"
	set1RAND = "23553cbe9637a89d218ae64dae47bf35"
	set1AUTN = "55f328b43577b9b94a9ffac354dfafb3" // (SQN ff9bb4d0b607 XOR AK aa689c648370) || AMF b9b9 || MAC-A 4a9ffac354dfafb3
	set1RES  = "a54211d5e3ba50bf"
	set1CK   = "b40ba9a3c58b2a05bbf0d987b21bf8cb"
	set1IK   = "f769bcd751044604127672711c6d3441"
)

// The RFC 4567 §5.1 offer (/work/shared/specs/rfc/rfc4567.txt lines 919-921, line breaks removed).
const rfc4567Offer = "AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2UaDX8ZE22YwKAAAPZG9uYWxkQGR1Y2suY29tAQAAAAAAAQAk0JKpgaVkDaawi9whVBtBt0KZ14ymNuu62+Nv3ozPLygwK/GbAV9iemnGUIZ19fWQUOSrzKTAv9zV"

// buildBinary compiles this command into a temporary directory, with a version set by -ldflags.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real time: compiles the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, serr := os.Stat(goTool); serr != nil {
			if os.Getenv("IMSPHONE_REQUIRE_PEERS") == "1" {
				t.Fatalf("go tool not found: %v", err)
			}
			t.Skipf("go tool not found: %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "imsphone")
	cmd := exec.Command(goTool, "build", "-o", bin, "-ldflags", "-X main.version=v0.0.0-bintest", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type procResult struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin, stdin string, args ...string) procResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return procResult{code, out.String(), errb.String()}
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	r := runBin(t, bin, "", "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "imsphone v0.0.0-bintest ") {
		t.Errorf("--version: %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = runBin(t, bin, "", "aka", "--k", set1K, "--op", set1OP, "--rand", set1RAND, "--autn", set1AUTN)
	if r.code != 0 {
		t.Fatalf("aka: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{set1RES, set1CK, set1IK} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("aka output lacks %s:\n%s", want, r.stdout)
		}
	}
	r = runBin(t, bin, "", "aka", "--k", set1K[:30], "--op", set1OP, "--rand", set1RAND, "--autn", set1AUTN)
	if r.code != 2 || !strings.Contains(r.stderr, "--k: 15 bytes, want 16") {
		t.Errorf("aka short K: exit %d %q", r.code, r.stderr)
	}

	for _, in := range []struct{ stdin, arg string }{{"", rfc4567Offer}, {rfc4567Offer + "\n", ""}} {
		args := []string{"mikey", "decode"}
		if in.arg != "" {
			args = append(args, in.arg)
		}
		r = runBin(t, bin, in.stdin, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "donald@duck.com") || !strings.Contains(r.stdout, "0xcd177e50") ||
			!strings.Contains(r.stdout, "5f627a69c6508675f5f59050e4abcca4c0bfdcd5") {
			t.Errorf("mikey decode (stdin %v): exit %d\n%s\n%s", in.stdin != "", r.code, r.stdout, r.stderr)
		}
	}
	r = runBin(t, bin, "", "mikey", "decode", rfc4567Offer[:100])
	if r.code != 1 || !strings.Contains(r.stderr, "at offset") {
		t.Errorf("malformed: exit %d %q", r.code, r.stderr)
	}
}
