package client

import (
	"strings"
	"testing"
	"time"
)

// Values from RFC 4028 §4, §5 and its §13 example call flow ("Session-Expires: 50",
// "Session-Expires: 3600;refresher=uac", "Min-SE: 3600"), plus the generic-param forms of
// RFC 3261 §25.1 (a quoted-string may hold ';'); errors say where.
func TestParseSessionExpiresOffsets(t *testing.T) {
	for _, tc := range []struct {
		in        string
		interval  time.Duration
		refresher string
	}{
		{"50", 50 * time.Second, ""},
		{"3600;refresher=uac", 3600 * time.Second, "uac"},
		{"4000 ; refresher = UAS", 4000 * time.Second, "uas"},
		{"90;x=1;refresher=uas;y", 90 * time.Second, "uas"},
		{`90;note="a;refresher=uas";refresher=uac`, 90 * time.Second, "uac"},
		{"90;maddr=[::1]:5060", 90 * time.Second, ""},
	} {
		se, err := parseSessionExpires(tc.in)
		if err != nil || se.interval != tc.interval || se.refresher != tc.refresher {
			t.Errorf("%q: %+v %v", tc.in, se, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "offset 0: delta-seconds expected"},
		{"-5", "offset 0: delta-seconds expected"},
		{"0", "offset 0: delta-seconds 0 out of range 1..86400"},
		{"4294967296", "out of range"},
		{" 86401", "offset 1: delta-seconds 86401 out of range"},
		{"1800 1", `offset 5: '1'`},
		{"1800;", "offset 5: parameter name expected"},
		{"1800;refresher=both", `offset 5: refresher "both" is neither uac nor uas`},
		{"1800;refresher=uac;refresher=uas", "offset 19: refresher given twice"},
		{"1800;a=", `offset 7: value of parameter "a" expected`},
		{`1800;a="x`, "offset 7: unterminated quoted-string"},
		{"1800,1900", "offset 4"},
	} {
		_, err := parseSessionExpires(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "Session-Expires ") {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
	if d, err := parseMinSE("3600"); err != nil || d != time.Hour {
		t.Errorf("Min-SE: %v %v", d, err)
	}
	if _, err := parseMinSE("90s"); err == nil || !strings.Contains(err.Error(), `Min-SE "90s": at offset 2`) {
		t.Errorf("Min-SE 90s: %v", err)
	}
}

// FuzzMinSE: a Min-SE value parses to 1 s..maxSessionInterval or is refused with an error
// naming the header, never a panic.
func FuzzMinSE(f *testing.F) {
	for _, s := range []string{"90", "3600;x", `120;q="a;b"`, "", "0", "90;", "99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseMinSE(v)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Min-SE ") {
				t.Fatalf("error %q does not name the header", err)
			}
			return
		}
		if d < time.Second || d > maxSessionInterval || d%time.Second != 0 {
			t.Fatalf("%q: %v", v, d)
		}
	})
}

func BenchmarkParseSessionExpires(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseSessionExpires("1800;refresher=uac"); err != nil {
			b.Fatal(err)
		}
	}
}
