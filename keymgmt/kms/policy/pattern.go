package policy

import (
	"fmt"
	"strings"
)

// Pattern matches identities: either a group ("group:<name>") or a glob over an IMPI or IMPU
// where "*" matches any run of characters and "?" exactly one. Matching is case-sensitive:
// SIP URI user parts are (RFC 3261 §19.1.4), and host parts are written in lower case by
// convention in IMS provisioning.
type Pattern struct {
	group string
	glob  string
}

const groupPrefix = "group:"

// ParsePattern parses one pattern.
func ParsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, fmt.Errorf("empty pattern")
	}
	if len(s) > 1024 {
		return Pattern{}, fmt.Errorf("pattern longer than 1024 octets")
	}
	if g, ok := strings.CutPrefix(s, groupPrefix); ok {
		if !validName(g) {
			return Pattern{}, fmt.Errorf("pattern %q: bad group name", s)
		}
		return Pattern{group: g}, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] == 0x7f {
			return Pattern{}, fmt.Errorf("pattern %q: control character or space at %d", s, i)
		}
	}
	return Pattern{glob: s}, nil
}

func (p Pattern) String() string {
	if p.group != "" {
		return groupPrefix + p.group
	}
	return p.glob
}

// Group returns the group name of a group pattern, "" otherwise.
func (p Pattern) Group() string { return p.group }

// glob reports whether s matches pattern pat ('*' any run, '?' one octet). Iterative with
// one backtrack point, so linear-ish time and no recursion on hostile patterns.
func glob(pat, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		// '*' first: a literal '*' in the subject must not consume the wildcard.
		case px < len(pat) && pat[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(pat) && (pat[px] == '?' || pat[px] == s[sx]):
			px++
			sx++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}
