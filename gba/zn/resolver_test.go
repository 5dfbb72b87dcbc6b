package zn

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNAFKeyRedacts(t *testing.T) {
	k := &NAFKey{Key: bytes.Repeat([]byte{0xab}, 32), Expiry: time.Unix(1900000000, 0), IMPI: "user1_private@home1.net"}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("key", "k", k)
	for _, s := range []string{k.String(), fmt.Sprintf("%v", k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k),
		fmt.Sprintf("%s", k), fmt.Sprintf("%x", k), logs.String()} {
		if strings.Contains(strings.ToLower(s), "abab") || strings.Contains(s, "171 171") || strings.Contains(s, "\xab") {
			t.Errorf("key leaks: %q", s)
		}
		if !strings.Contains(s, "user1_private@home1.net") {
			t.Errorf("IMPI missing: %q", s)
		}
	}
}
