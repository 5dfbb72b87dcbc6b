package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	r := run(t, "", "--version")
	r.want(t, ExitOK)
	if !strings.HasPrefix(r.stdout, "imsphone ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("--version: %q", r.stdout)
	}
	var out bytes.Buffer
	code := Execute(context.Background(), Env{Stdout: &out, Version: "v9.8.7"}, []string{"--version"})
	if code != 0 || !strings.HasPrefix(out.String(), "imsphone v9.8.7 ") {
		t.Errorf("ldflags version: %d %q", code, out.String())
	}
}

// Every command's help carries an example.
func TestHelpHasExamples(t *testing.T) {
	root := NewRootCommand(Env{})
	for _, c := range allCommands(root) {
		if c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		r := run(t, "", append(strings.Fields(c.CommandPath())[1:], "--help")...)
		r.want(t, ExitOK)
		if !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%q --help shows no example", c.CommandPath())
		}
	}
}

func TestLogFlags(t *testing.T) {
	r := run(t, "", "--log-level", "loud", "aka", "--k", set1K, "--opc", set1OPc, "--rand", set1RAND, "--autn", set1AUTN(t))
	r.want(t, ExitUsage)
	if !strings.Contains(r.stderr, "--log-level") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = run(t, "", "--log-format", "xml", "aka", "--k", set1K, "--opc", set1OPc, "--rand", set1RAND, "--autn", set1AUTN(t))
	r.want(t, ExitUsage)
	// JSON debug logs go to stderr, results to stdout, and no key reaches the log.
	r = run(t, "", "--log-level", "debug", "--log-format", "json", "aka", "--generate", "--k", set1K, "--opc", set1OPc,
		"--rand", set1RAND, "--sqn", "1", "--amf", "8000")
	r.want(t, ExitOK)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no debug log on stderr")
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Errorf("log line not JSON: %q", l)
		}
	}
	ck := outField(t, r.stdout, "CK")
	if strings.Contains(r.stderr, ck) || strings.Contains(r.stderr, set1K) {
		t.Errorf("secret in log: %s", r.stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	r := run(t, "", "dial")
	r.want(t, ExitUsage)
	r = run(t, "", "aka", "--frobnicate")
	r.want(t, ExitUsage)
}

func TestCommandGroups(t *testing.T) {
	for _, g := range []string{"mikey", "gba"} {
		r := run(t, "", g)
		r.want(t, ExitOK)
		if !strings.Contains(r.stdout, "Available Commands:") {
			t.Errorf("%s alone: %q", g, r.stdout)
		}
		r = run(t, "", g, "frobnicate")
		r.want(t, ExitUsage)
		if !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
			t.Errorf("%s frobnicate: %q", g, r.stderr)
		}
	}
}
