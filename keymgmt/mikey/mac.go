package mikey

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
)

// errMACMismatch is the cause of a failed MAC check; callers answer it with Auth failure
// (RFC 3830 §5.3) or drop the message silently (RFC 6043 §5.4).
var errMACMismatch = errors.New("mikey: MAC does not verify")

// MACTagLen is the length of the MAC field for a MAC algorithm (RFC 3830 Table 6.2.b, RFC 6043
// Table 6.6): 0 for NULL, 20 for HMAC-SHA-1-160, 32 for HMAC-SHA-256-256.
func MACTagLen(ma MACAlg) (int, error) {
	switch ma {
	case MACNULL:
		return 0, nil
	case MACHMACSHA1160:
		return sha1.Size, nil
	case MACHMACSHA256256:
		return sha256.Size, nil
	}
	return 0, fmt.Errorf("mikey: MAC algorithm %d not supported", uint8(ma))
}

// MACKeyLen is the auth_key length for a MAC algorithm: the hash output size (RFC 3830 §4.2.4:
// 160 bits for HMAC-SHA-1; RFC 6043 §6.2: 256 bits for HMAC-SHA-256).
func MACKeyLen(ma MACAlg) (int, error) { return MACTagLen(ma) }

func macHash(ma MACAlg) (func() hash.Hash, error) {
	switch ma {
	case MACHMACSHA1160:
		return sha1.New, nil
	case MACHMACSHA256256:
		return sha256.New, nil
	}
	return nil, fmt.Errorf("mikey: MAC algorithm %d has no hash", uint8(ma))
}

// ComputeMAC returns the MAC of the concatenation of parts (the MAC input of RFC 3830 §5.2 /
// RFC 6043 §5.5: the message without its MAC field, then identities, timestamp or the initial
// message). The NULL algorithm gives an empty MAC.
func ComputeMAC(ma MACAlg, authKey []byte, parts ...[]byte) ([]byte, error) {
	return hmacAppend(nil, ma, authKey, parts...)
}

func hmacAppend(dst []byte, ma MACAlg, authKey []byte, parts ...[]byte) ([]byte, error) {
	if ma == MACNULL {
		return dst, nil
	}
	h, err := macHash(ma)
	if err != nil {
		return nil, err
	}
	if len(authKey) == 0 {
		return nil, fmt.Errorf("mikey: MAC algorithm %d with an empty auth_key", uint8(ma))
	}
	m := hmac.New(h, authKey)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(dst), nil
}

// VerifyMAC recomputes the MAC of parts and compares it with mac in constant time. A wrong MAC
// length is a mismatch too. With the NULL algorithm the MAC must be empty: the caller decides
// whether NULL is acceptable at all (RFC 3830 §4.2.4).
func VerifyMAC(ma MACAlg, authKey, mac []byte, parts ...[]byte) error {
	want, err := MACTagLen(ma)
	if err != nil {
		return err
	}
	if len(mac) != want {
		return fmt.Errorf("%w: %d MAC bytes, algorithm %d needs %d", errMACMismatch, len(mac), uint8(ma), want)
	}
	if ma == MACNULL {
		return nil
	}
	var buf [sha256.Size]byte
	got, err := hmacAppend(buf[:0], ma, authKey, parts...)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, mac) != 1 {
		return errMACMismatch
	}
	return nil
}
