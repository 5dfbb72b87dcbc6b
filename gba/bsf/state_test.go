package bsf

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "state.json")
	if m, err := loadState(p); err != nil || len(m) != 0 {
		t.Fatalf("missing file: %v %v", m, err)
	}
	want := map[string]uint64{"a@h": 0x21, "b@h": 0xffffffffffff}
	if err := saveState(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(p)
	if err != nil || len(got) != 2 || got["a@h"] != 0x21 || got["b@h"] != 0xffffffffffff {
		t.Fatalf("got %v %v", got, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("state file mode %v is readable by others", fi.Mode())
	}
}

func TestStateRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"json":    `{`,
		"version": `{"version":2,"sqn":{}}`,
		"short":   `{"version":1,"sqn":{"a":"21"}}`,
		"hex":     `{"version":1,"sqn":{"a":"00000000002g"}}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := loadState(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"version":1,"sqn":{"user1_private@home1.net":"000000000021"}}`))
	f.Add([]byte(`{"version":1,"sqn":{"a":"ffffffffffff","b":"0"}}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseState(data)
		if err != nil {
			return
		}
		for impi, v := range m {
			if v > maxSQN {
				t.Fatalf("SQN of %s longer than 48 bits: %x", impi, v)
			}
		}
	})
}

func TestSessionRedacts(t *testing.T) {
	s := &bootstrapSession{BTID: "b@d", IMPI: "u@h", Ks: []byte{0xde, 0xad, 0xbe, 0xef}}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("s", "session", s)
	for _, out := range []string{s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", *s), logs.String()} {
		if strings.Contains(out, "deadbeef") || strings.Contains(out, "222 173") {
			t.Errorf("Ks leaks: %s", out)
		}
	}
}
