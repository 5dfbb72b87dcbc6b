package lab

import (
	"os"
	"testing"
)

// FuzzParseConfig: the lab YAML parser rejects or accepts, never panics, and an accepted
// config's subscribers convert without error (ParseConfig already ran that check).
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("testdata/lab.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("domain: home1.net\n"))
	f.Add([]byte("domain: x\nsubscribers:\n- impi: a\n  k: 465b5ce8b199b49faa5f0a2ee238a6bc\n  op: cdc202d5123e20f62b6d676ac72cb318\n  sqn: ffffffffffff\n"))
	f.Add([]byte("domain: x\nregistrar: {sender_policy: digest, min_expires: 1s}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if _, _, err := c.subscribers(); err != nil {
			t.Fatalf("accepted config fails conversion: %v", err)
		}
	})
}
