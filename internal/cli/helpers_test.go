package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

type result struct {
	code           int
	stdout, stderr string
}

// run executes imsphone in-process with the given stdin.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Now:  func() time.Time { return time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC) },
		Rand: bytes.NewReader(bytes.Repeat([]byte{0x5a}, 4096)),
	}
	code := Execute(context.Background(), env, args)
	return result{code, out.String(), errb.String()}
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// field returns the value printed after "label:" on a line of text output.
func outField(t *testing.T, out, label string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		l := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(l, label+":"); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no %q in output:\n%s", label, out)
	return ""
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, s := range c.Commands() {
		if s.Name() == "help" || s.Name() == "completion" {
			continue
		}
		out = append(out, allCommands(s)...)
	}
	return out
}

// has reports whether out contains want with runs of spaces collapsed in both, so that tests do
// not depend on label alignment.
func has(out, want string) bool {
	norm := func(s string) string {
		var b strings.Builder
		space := false
		for _, r := range s {
			if r == ' ' {
				if !space {
					b.WriteRune(r)
				}
				space = true
				continue
			}
			space = false
			b.WriteRune(r)
		}
		return b.String()
	}
	return strings.Contains(norm(out), norm(want))
}
