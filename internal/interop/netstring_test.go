package interop

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestReadNetstring(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{`12:hello world!,`, "hello world!", ""},
		{`0:,`, "", ""},
		{`5:ab`, "", "unexpected EOF"},
		{`05:hello,`, "", "leading zero"},
		{`5:hello;`, "", "want ','"},
		{`x:`, "", "length digit 0"},
		{`:,`, "", "empty length"},
		{`99999999:`, "", "over"},
		{`3`, "", "unexpected EOF"},
	} {
		got, err := readNetstring(bufio.NewReader(strings.NewReader(tc.in)), 1<<20)
		if tc.err == "" {
			if err != nil || string(got) != tc.want {
				t.Errorf("%q: %q, %v", tc.in, got, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

// FuzzNetstring: whatever readNetstring accepts frames back to the same bytes.
func FuzzNetstring(f *testing.F) {
	for _, s := range []string{`12:hello world!,`, `0:,`, `3:a:b,4:{"a",`, `05:x`, `1:x;`, ``, `:`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		var back []byte
		consumed := 0
		for {
			msg, err := readNetstring(r, 1<<16)
			if err != nil {
				break
			}
			back = appendNetstring(back, msg)
			consumed = len(back)
		}
		if !bytes.Equal(back, in[:consumed]) {
			t.Fatalf("%q re-framed as %q", in[:consumed], back)
		}
	})
}
