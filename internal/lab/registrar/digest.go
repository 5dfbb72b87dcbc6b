package registrar

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"

	"github.com/imsphone/imsphone/gba"
)

// Digest algorithm tokens beyond those of package gba (RFC 7616 §3.3, RFC 8760 §2 for SIP).
const AlgorithmSHA256 = "SHA-256"

// digestHash returns the hash of a Digest algorithm token: MD5 for "MD5" and the AKA algorithms
// (RFC 3310 §3.3 and RFC 4169 keep MD5 as the digest hash), SHA-256 for "SHA-256". The "-sess"
// variants are not offered by this registrar.
func digestHash(alg string) func() hash.Hash {
	switch {
	case strings.EqualFold(alg, AlgorithmSHA256):
		return sha256.New
	case alg == "", strings.EqualFold(alg, gba.AlgorithmMD5),
		strings.EqualFold(alg, gba.AlgorithmAKAv1MD5), strings.EqualFold(alg, gba.AlgorithmAKAv2MD5):
		return md5.New
	}
	return nil
}

func hexHash(h func() hash.Hash, parts ...[]byte) string {
	d := h()
	for i, p := range parts {
		if i > 0 {
			d.Write([]byte{':'})
		}
		d.Write(p)
	}
	return hex.EncodeToString(d.Sum(nil))
}

// requestDigest is the request-digest of RFC 7616 §3.4.1 (RFC 2617 §3.2.2.1 for MD5):
// KD(H(A1), nonce:nc:cnonce:qop:H(A2)) with A1 = username:realm:password and A2 = method:uri
// (qop=auth) or method:uri:H(body) (qop=auth-int). password is raw octets, as RFC 3310 §3.3
// needs for RES.
func requestDigest(h func() hash.Hash, c *gba.Credentials, password []byte, method string, body []byte) string {
	ha1 := hexHash(h, []byte(c.Username), []byte(c.Realm), password)
	var ha2 string
	if c.QOP == gba.QOPAuthInt {
		ha2 = hexHash(h, []byte(method), []byte(c.URI), []byte(hexHash(h, body)))
	} else {
		ha2 = hexHash(h, []byte(method), []byte(c.URI))
	}
	if c.QOP == "" {
		return hexHash(h, []byte(ha1), []byte(c.Nonce), []byte(ha2))
	}
	return hexHash(h, []byte(ha1), []byte(c.Nonce), []byte(c.NC), []byte(c.CNonce), []byte(c.QOP), []byte(ha2))
}
