package registrar

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseDeltaSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		err  string
	}{
		{"0", 0, ""}, {"3600", 3600, ""}, {" 600000 ", 600000, ""},
		{"4294967295", 4294967295, ""}, {"99999999999999999999", 4294967295, ""},
		{"", 0, "empty"}, {"  ", 0, "empty"}, {"-1", 0, "offset 0"}, {"1.5", 0, "offset 1"},
		{" 60x", 0, "offset 3"}, {"Thu, 01 Dec 1994 16:00:00 GMT", 0, "offset 0"},
	} {
		got, err := ParseDeltaSeconds(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one mentioning %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseDeltaSeconds checks that the Expires parser never panics, and that every accepted
// value formats back to the same number once white space and leading zeros are removed.
func FuzzParseDeltaSeconds(f *testing.F) {
	for _, s := range []string{"0", "3600", " 7 ", "4294967296", "-1", "1e3", "", "\t12\t", "00012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDeltaSeconds(s)
		if err != nil {
			return
		}
		digits := strings.TrimLeft(strings.Trim(s, " \t"), "0")
		if digits == "" {
			digits = "0"
		}
		if len(digits) <= 9 && strconv.FormatUint(uint64(v), 10) != digits {
			t.Fatalf("%q parsed as %d", s, v)
		}
		if len(digits) > 10 && v != maxDeltaSeconds {
			t.Fatalf("%q not clamped: %d", s, v)
		}
	})
}
