package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped")
	log.Warn("kept", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "kept" {
		t.Fatalf("json output %q: %v", buf.String(), err)
	}

	buf.Reset()
	log, err = New(&buf, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("shown")
	if !strings.Contains(buf.String(), "level=DEBUG msg=shown") {
		t.Fatalf("text output %q", buf.String())
	}
}

func TestNewRejects(t *testing.T) {
	for _, c := range []struct {
		level, format string
		want          error
	}{
		{"loud", "text", ErrLevel},
		{"info+2", "text", ErrLevel}, // slog's own syntax is not a flag value
		{"", "text", ErrLevel},
		{"info", "xml", ErrFormat},
		{"info", "", ErrFormat},
	} {
		if _, err := New(&bytes.Buffer{}, c.level, c.format); !errors.Is(err, c.want) {
			t.Errorf("New(%q, %q) = %v, want %v", c.level, c.format, err, c.want)
		}
	}
}
