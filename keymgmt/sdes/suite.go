package sdes

import (
	"strings"

	"github.com/pion/srtp/v2"
)

// Suite describes one SRTP crypto suite as registered for SDES. Lengths are in octets.
type Suite struct {
	// Name is the registered spelling, the one this package emits.
	Name string
	// Profile is the pion/srtp/v2 protection profile; meaningful only when Usable.
	Profile srtp.ProtectionProfile
	KeyLen  int
	SaltLen int
	// SRTPTagLen and SRTCPTagLen are the authentication tag lengths (the AEAD tag for GCM).
	SRTPTagLen  int
	SRTCPTagLen int
	// Usable reports whether pion/srtp/v2 can protect media with this suite.
	Usable bool
}

// KeySaltLen is the length of the decoded inline key||salt (RFC 4568 §6.1).
func (s Suite) KeySaltLen() int { return s.KeyLen + s.SaltLen }

// maxLifetime is the largest master key lifetime accepted: 2^48 SRTP packets, the SRTP
// maximum of RFC 3711 §3.3.1 and §9.2 for every suite in the table (RFC 4568 §6.1: a
// lifetime above the suite's maximum invalidates the attribute).
const maxLifetime = uint64(1) << 48

// suites is the suite table. Sources: RFC 4568 §6.2 table (AES_CM_128 and F8), RFC 6188 §4
// Tables 1-4, RFC 7714 §12 (AEAD: 96-bit salt, 16-octet tag for SRTP and SRTCP). The
// F8_128_HMAC_SHA1_32 name appears only in the RFC 4568 §9.2 grammar.
var suites = [...]Suite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14, 10, 10, true},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14, 4, 10, true},
	{"AES_256_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14, 10, 10, true},
	{"AES_256_CM_HMAC_SHA1_32", srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14, 4, 10, true},
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm, 16, 12, 16, 16, true},
	{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm, 32, 12, 16, 16, true},
	{"AES_192_CM_HMAC_SHA1_80", 0, 24, 14, 10, 10, false},
	{"AES_192_CM_HMAC_SHA1_32", 0, 24, 14, 4, 10, false},
	{"F8_128_HMAC_SHA1_80", 0, 16, 14, 10, 10, false},
	{"F8_128_HMAC_SHA1_32", 0, 16, 14, 4, 10, false},
}

// suiteAliases are non-registered spellings seen from peers (rtpengine#736: Zoiper; diago's
// srtpProfileString) mapped to the registered name.
var suiteAliases = [...]struct{ alias, name string }{
	{"AES_CM_256_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_80"},
	{"AES_CM_256_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_32"},
	{"AES_CM_192_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_80"},
	{"AES_CM_192_HMAC_SHA1_32", "AES_192_CM_HMAC_SHA1_32"},
}

// LookupSuite finds a suite by name, case-insensitively (RFC 4568 §4: field values are
// case-insensitive) and accepting the aliases above.
func LookupSuite(name string) (Suite, bool) {
	for _, a := range suiteAliases {
		if strings.EqualFold(a.alias, name) {
			name = a.name
			break
		}
	}
	for _, s := range suites {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Suite{}, false
}

// SuiteForProfile returns the suite of a pion protection profile.
func SuiteForProfile(p srtp.ProtectionProfile) (Suite, bool) {
	for _, s := range suites {
		if s.Usable && s.Profile == p {
			return s, true
		}
	}
	return Suite{}, false
}

// Suites returns the suite table, usable suites first in our default preference order.
func Suites() []Suite {
	out := make([]Suite, len(suites))
	copy(out, suites[:])
	return out
}

// DefaultSuites is the default offer order. AES_CM_128_HMAC_SHA1_80 comes first because it
// is the suite every SDES peer implements (RFC 4568 §6.2.1 is the SRTP default; landscape §1:
// the only suite some stacks offer); the answerer picks the first line it supports, so peers
// never reach the later lines unless they lack it.
func DefaultSuites() []string {
	return []string{
		"AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", "AES_256_CM_HMAC_SHA1_80",
		"AEAD_AES_256_GCM", "AES_CM_128_HMAC_SHA1_32",
	}
}
