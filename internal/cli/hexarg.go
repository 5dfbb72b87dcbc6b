package cli

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// decodeHexFlag decodes the hex value of flag name and checks its length, so that a typo in a key
// is reported with the flag's name and what was expected, never with the value itself (it may be a
// secret). Spaces, colons and a 0x prefix are tolerated, as test specifications print them.
func decodeHexFlag(name, value string, wantLen int) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(value, "0x"), "0X")
	s = strings.NewReplacer(" ", "", ":", "", "\t", "").Replace(s)
	if s == "" {
		return nil, usageErrorf("--%s: empty; want %d bytes (%d hex digits)", name, wantLen, 2*wantLen)
	}
	for i, c := range s {
		if !isHexDigit(c) {
			return nil, usageErrorf("--%s: not hex: character %q at position %d", name, c, i)
		}
	}
	if len(s)%2 != 0 {
		return nil, usageErrorf("--%s: odd number of hex digits (%d)", name, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, usageErrorf("--%s: %w", name, err)
	}
	if wantLen > 0 && len(b) != wantLen {
		return nil, usageErrorf("--%s: %d bytes, want %d (%d hex digits)", name, len(b), wantLen, 2*wantLen)
	}
	return b, nil
}

func isHexDigit(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// parseSQN reads a 48-bit sequence number: decimal, or hex with 0x (TS 35.208 prints SQN as 12 hex
// digits: write 0xff9bb4d0b607).
func parseSQN(name, value string) (uint64, error) {
	v, err := strconv.ParseUint(value, 0, 64)
	if err != nil {
		return 0, usageErrorf("--%s %q: want a decimal number or 0x followed by hex digits", name, value)
	}
	if v > 1<<48-1 {
		return 0, usageErrorf("--%s: %#x does not fit in 48 bits", name, v)
	}
	return v, nil
}

// fmtErr wraps err with context; a helper to keep RunE bodies short.
func fmtErr(ctx string, err error) error { return fmt.Errorf("%s: %w", ctx, err) }
