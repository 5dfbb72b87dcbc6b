package registrar

import (
	"fmt"
	"strings"
)

// maxDeltaSeconds caps delta-seconds: RFC 3261 §20.19 says a value beyond 2**32-1 is taken as
// 2**32-1, so an over-long number is clamped rather than refused.
const maxDeltaSeconds = 1<<32 - 1

// ParseDeltaSeconds parses the delta-seconds of an Expires header or a Contact "expires"
// parameter (RFC 3261 §20.19, §20.10: delta-seconds = 1*DIGIT). Surrounding linear white space
// is allowed; anything else (sign, fraction, an HTTP date of RFC 2543) is an error naming the
// offset of the first bad octet.
func ParseDeltaSeconds(s string) (uint32, error) {
	t := strings.TrimLeft(s, " \t")
	off := len(s) - len(t)
	t = strings.TrimRight(t, " \t")
	if t == "" {
		return 0, fmt.Errorf("delta-seconds: empty value")
	}
	var v uint64
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("delta-seconds: unexpected %q at offset %d", c, off+i)
		}
		if v <= maxDeltaSeconds {
			v = v*10 + uint64(c-'0')
		}
	}
	if v > maxDeltaSeconds {
		v = maxDeltaSeconds
	}
	return uint32(v), nil
}
