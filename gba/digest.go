package gba

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Digest algorithm and qop tokens (RFC 2617 §3.2.1, RFC 3310 §3.1, RFC 4169 §5).
const (
	AlgorithmMD5      = "MD5"
	AlgorithmAKAv1MD5 = "AKAv1-MD5"
	AlgorithmAKAv2MD5 = "AKAv2-MD5"
	QOPAuth           = "auth"
	QOPAuthInt        = "auth-int"
)

// Param is an auth-param this package does not interpret, kept so that a parsed header can be
// formatted again without loss.
type Param struct {
	Name, Value string
	Quoted      bool
}

// Challenge is a Digest challenge, the value of WWW-Authenticate (RFC 2617 §3.2.1). For AKA the
// nonce is base64(RAND ‖ AUTN ‖ server data) (RFC 3310 §3.2).
type Challenge struct {
	Realm, Nonce, Opaque, Algorithm string
	Domain                          string
	QOP                             []string // qop-options, e.g. ["auth", "auth-int"]
	Stale                           bool
	Extra                           []Param // other auth-params, in order
}

// Credentials is a Digest answer, the value of Authorization (RFC 2617 §3.2.2), with the
// auts directive of RFC 3310 §3.4 (base64 text, as sent).
type Credentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, QOP, NC, CNonce, Opaque, AUTS string
	Extra                                                                           []Param
}

// authParams splits a header value "Scheme a=b, c="d"" into the scheme and its auth-params
// (RFC 7235 §2.1 syntax). Names are lower-cased; duplicates are an error.
func authParams(h, what string) (params []Param, err error) {
	s := strings.TrimLeft(h, " \t")
	off := len(h) - len(s)
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return nil, fmt.Errorf("%s: missing auth-scheme at offset %d", what, off)
	}
	if !strings.EqualFold(s[:i], "Digest") {
		return nil, fmt.Errorf("%s: auth-scheme %q at offset %d is not Digest", what, s[:i], off)
	}
	if i < len(s) && s[i] != ' ' && s[i] != '\t' {
		return nil, fmt.Errorf("%s: unexpected %q after auth-scheme at offset %d", what, s[i], off+i)
	}
	return paramList(s, off, i, what)
}

// paramList parses the #auth-param list of s from p; off is the offset of s in the header value.
func paramList(s string, off, p int, what string) (params []Param, err error) {
	seen := map[string]bool{}
	for {
		// skip whitespace and empty list elements (RFC 7230 §7 #rule)
		for p < len(s) && (s[p] == ' ' || s[p] == '\t' || s[p] == ',') {
			p++
		}
		if p == len(s) {
			break
		}
		start := p
		for p < len(s) && isTokenChar(s[p]) {
			p++
		}
		if p == start {
			return nil, fmt.Errorf("%s: expected parameter name at offset %d, found %q", what, off+p, s[p])
		}
		name := strings.ToLower(s[start:p])
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		if p == len(s) || s[p] != '=' {
			return nil, fmt.Errorf("%s: parameter %q at offset %d has no '='", what, name, off+start)
		}
		p++
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		var val string
		quoted := false
		if p < len(s) && s[p] == '"' {
			quoted = true
			qs := p
			p++
			var b strings.Builder
			closed := false
			for p < len(s) {
				c := s[p]
				if c == '\\' {
					if p+1 == len(s) {
						break
					}
					b.WriteByte(s[p+1])
					p += 2
					continue
				}
				if c == '"' {
					closed = true
					p++
					break
				}
				b.WriteByte(c)
				p++
			}
			if !closed {
				return nil, fmt.Errorf("%s: unterminated quoted value of %q starting at offset %d", what, name, off+qs)
			}
			val = b.String()
		} else {
			vs := p
			for p < len(s) && isValueChar(s[p]) {
				p++
			}
			if p == vs {
				return nil, fmt.Errorf("%s: parameter %q at offset %d has an empty or invalid value", what, name, off+vs)
			}
			val = s[vs:p]
		}
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		if p < len(s) && s[p] != ',' {
			return nil, fmt.Errorf("%s: expected ',' after parameter %q at offset %d, found %q", what, name, off+p, s[p])
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: duplicate parameter %q at offset %d", what, name, off+start)
		}
		seen[name] = true
		params = append(params, Param{Name: name, Value: val, Quoted: quoted})
	}
	return params, nil
}

// isTokenChar reports whether c is a tchar (RFC 7230 §3.2.6).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isValueChar accepts, in an unquoted value, a tchar and also '/', '=', ':' and '@': they are not
// tchars, but servers send base64 nonces and URIs unquoted, and none of them can end a value.
func isValueChar(c byte) bool {
	return isTokenChar(c) || c == '/' || c == '=' || c == ':' || c == '@'
}

// ParseChallenge parses a WWW-Authenticate (or Proxy-Authenticate) Digest challenge.
func ParseChallenge(h string) (*Challenge, error) {
	params, err := authParams(h, "WWW-Authenticate")
	if err != nil {
		return nil, err
	}
	c := &Challenge{}
	var haveRealm, haveNonce bool
	for _, p := range params {
		switch p.Name {
		case "realm":
			c.Realm, haveRealm = p.Value, true
		case "nonce":
			c.Nonce, haveNonce = p.Value, true
		case "opaque":
			c.Opaque = p.Value
		case "algorithm":
			c.Algorithm = p.Value
		case "domain":
			c.Domain = p.Value
		case "qop":
			for _, q := range strings.Split(p.Value, ",") {
				if q = strings.TrimSpace(q); q != "" {
					c.QOP = append(c.QOP, q)
				}
			}
			if len(c.QOP) == 0 {
				return nil, errors.New("WWW-Authenticate: qop has no options")
			}
		case "stale":
			switch strings.ToLower(p.Value) {
			case "true":
				c.Stale = true
			case "false":
			default:
				return nil, fmt.Errorf("WWW-Authenticate: stale=%q is neither true nor false", p.Value)
			}
		default:
			c.Extra = append(c.Extra, p)
		}
	}
	if !haveRealm {
		return nil, errors.New("WWW-Authenticate: realm missing")
	}
	if !haveNonce {
		return nil, errors.New("WWW-Authenticate: nonce missing")
	}
	return c, nil
}

// HasQOP reports whether the challenge offers qop q.
func (c *Challenge) HasQOP(q string) bool {
	return slices.ContainsFunc(c.QOP, func(s string) bool { return strings.EqualFold(s, q) })
}

// String formats c as a WWW-Authenticate value.
func (c *Challenge) String() string {
	var b strings.Builder
	b.WriteString("Digest ")
	writeQuoted(&b, "realm", c.Realm)
	writeQuoted(&b, "nonce", c.Nonce)
	if c.Domain != "" {
		writeQuoted(&b, "domain", c.Domain)
	}
	if c.Algorithm != "" {
		writeParam(&b, "algorithm", c.Algorithm)
	}
	if len(c.QOP) > 0 {
		writeQuoted(&b, "qop", strings.Join(c.QOP, ","))
	}
	if c.Opaque != "" {
		writeQuoted(&b, "opaque", c.Opaque)
	}
	if c.Stale {
		writeParam(&b, "stale", "true")
	}
	writeExtra(&b, c.Extra)
	return b.String()
}

// ParseCredentials parses an Authorization (or Proxy-Authorization) Digest answer. username,
// realm, nonce, uri and response must be present (RFC 2617 §3.2.2; they may be empty, as in the
// initial Ub request of TS 24.109 A.3); with qop, nc and cnonce must be too.
func ParseCredentials(h string) (*Credentials, error) {
	params, err := authParams(h, "Authorization")
	if err != nil {
		return nil, err
	}
	c := &Credentials{}
	have := map[string]bool{}
	for _, p := range params {
		have[p.Name] = true
		switch p.Name {
		case "username":
			c.Username = p.Value
		case "realm":
			c.Realm = p.Value
		case "nonce":
			c.Nonce = p.Value
		case "uri":
			c.URI = p.Value
		case "response":
			c.Response = p.Value
		case "algorithm":
			c.Algorithm = p.Value
		case "qop":
			c.QOP = p.Value
		case "nc":
			c.NC = p.Value
		case "cnonce":
			c.CNonce = p.Value
		case "opaque":
			c.Opaque = p.Value
		case "auts":
			c.AUTS = p.Value
		default:
			c.Extra = append(c.Extra, p)
		}
	}
	for _, n := range []string{"username", "realm", "nonce", "uri", "response"} {
		if !have[n] {
			return nil, fmt.Errorf("Authorization: %s missing", n)
		}
	}
	if c.QOP != "" {
		if c.QOP != QOPAuth && c.QOP != QOPAuthInt {
			return nil, fmt.Errorf("Authorization: unknown qop %q", c.QOP)
		}
		if !have["nc"] || !have["cnonce"] {
			return nil, fmt.Errorf("Authorization: qop=%s without nc and cnonce", c.QOP)
		}
		if len(c.NC) != 8 || !isHex(c.NC) {
			return nil, fmt.Errorf("Authorization: nc %q is not 8 hex digits", c.NC)
		}
	}
	return c, nil
}

// String formats c as an Authorization value. username, realm, nonce, uri and response are always
// written (empty in the initial Ub request, TS 24.109 Table A.3-1); qop, nc and algorithm are
// unquoted tokens (RFC 2617 §3.2.2), auts is quoted as in TS 24.109 Table A.4-1.
func (c *Credentials) String() string {
	var b strings.Builder
	b.WriteString("Digest ")
	writeQuoted(&b, "username", c.Username)
	writeQuoted(&b, "realm", c.Realm)
	writeQuoted(&b, "nonce", c.Nonce)
	writeQuoted(&b, "uri", c.URI)
	if c.QOP != "" {
		writeParam(&b, "qop", c.QOP)
	}
	if c.NC != "" || c.QOP != "" {
		writeParam(&b, "nc", c.NC)
	}
	if c.CNonce != "" || c.QOP != "" {
		writeQuoted(&b, "cnonce", c.CNonce)
	}
	writeQuoted(&b, "response", c.Response)
	if c.Opaque != "" {
		writeQuoted(&b, "opaque", c.Opaque)
	}
	if c.Algorithm != "" {
		writeParam(&b, "algorithm", c.Algorithm)
	}
	if c.AUTS != "" {
		writeQuoted(&b, "auts", c.AUTS)
	}
	writeExtra(&b, c.Extra)
	return b.String()
}

func writeQuoted(b *strings.Builder, name, val string) {
	if b.Len() > len("Digest ") {
		b.WriteString(", ")
	}
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(val); i++ {
		if val[i] == '"' || val[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(val[i])
	}
	b.WriteByte('"')
}

// writeParam writes name=val unquoted when val is a token, quoted otherwise.
func writeParam(b *strings.Builder, name, val string) {
	if val == "" || strings.IndexFunc(val, func(r rune) bool { return r > 0x7f || !isTokenChar(byte(r)) }) >= 0 {
		writeQuoted(b, name, val)
		return
	}
	if b.Len() > len("Digest ") {
		b.WriteString(", ")
	}
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(val)
}

func writeExtra(b *strings.Builder, extra []Param) {
	for _, p := range extra {
		if p.Quoted {
			writeQuoted(b, p.Name, p.Value)
		} else {
			writeParam(b, p.Name, p.Value)
		}
	}
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func md5hex(parts ...[]byte) string {
	h := md5.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write(p)
	}
	var sum [md5.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// DigestResponse computes request-digest (RFC 2617 §3.2.2.1) for c with password given as raw
// octets: for AKAv1-MD5 the RES octets (RFC 3310 §3.3), for a resynchronisation the empty
// password (RFC 3310 §3.4), for AKAv2-MD5 the base64 text of AKAv2Password, for MD5 the password
// text. c.QOP selects the variant: "auth-int" hashes body into A2, "auth" and "" do not; with no
// qop the RFC 2069 form MD5(HA1:nonce:HA2) is used. A "-sess" algorithm is not supported by
// Ub and is computed like its base algorithm.
func DigestResponse(c *Credentials, password []byte, method string, body []byte) string {
	ha1 := md5hex([]byte(c.Username), []byte(c.Realm), password)
	var ha2 string
	if c.QOP == QOPAuthInt {
		ha2 = md5hex([]byte(method), []byte(c.URI), []byte(md5hex(body)))
	} else {
		ha2 = md5hex([]byte(method), []byte(c.URI))
	}
	if c.QOP == "" {
		return md5hex([]byte(ha1), []byte(c.Nonce), []byte(ha2))
	}
	return md5hex([]byte(ha1), []byte(c.Nonce), []byte(c.NC), []byte(c.CNonce), []byte(c.QOP), []byte(ha2))
}

// RspAuth computes response-auth of Authentication-Info (RFC 2617 §3.2.3): request-digest with an
// empty method, and for qop=auth-int the hash of the server's response body (which is why the UE
// must keep the exact body octets). The server computes it from XRES, the client from RES.
func RspAuth(c *Credentials, password []byte, body []byte) string {
	return DigestResponse(c, password, "", body)
}

// AKAv2Password is the RFC 4169 §3 password for AKAv2-MD5: the base64 text of
// PRF(RES ‖ IK ‖ CK, "http-digest-akav2-password") with PRF = HMAC-MD5 keyed by RES‖IK‖CK.
func AKAv2Password(res, ik, ck []byte) []byte {
	key := make([]byte, 0, len(res)+len(ik)+len(ck))
	key = append(key, res...)
	key = append(key, ik...)
	key = append(key, ck...)
	mac := hmac.New(md5.New, key)
	mac.Write([]byte("http-digest-akav2-password"))
	sum := mac.Sum(nil)
	clear(key)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum)
	clear(sum)
	return out
}

// SplitAKANonce decodes an AKA nonce, base64(RAND ‖ AUTN ‖ server data) (RFC 3310 §3.2), and
// returns RAND, AUTN and the server data (possibly empty).
func SplitAKANonce(nonce string) (rand, autn, serverData []byte, err error) {
	raw, err := base64.StdEncoding.DecodeString(nonce)
	if err != nil {
		// Some servers omit padding; accept that, but report the padded error if both fail.
		raw2, err2 := base64.RawStdEncoding.DecodeString(nonce)
		if err2 != nil {
			return nil, nil, nil, fmt.Errorf("AKA nonce is not base64: %w", err)
		}
		raw = raw2
	}
	if len(raw) < RANDLen+AUTNLen {
		return nil, nil, nil, fmt.Errorf("AKA nonce decodes to %d octets, want at least %d (RAND ‖ AUTN)", len(raw), RANDLen+AUTNLen)
	}
	return raw[:RANDLen:RANDLen], raw[RANDLen : RANDLen+AUTNLen : RANDLen+AUTNLen], raw[RANDLen+AUTNLen:], nil
}

// AKANonce encodes base64(RAND ‖ AUTN ‖ server data) (RFC 3310 §3.2).
func AKANonce(rand, autn, serverData []byte) string {
	b := make([]byte, 0, len(rand)+len(autn)+len(serverData))
	b = append(append(append(b, rand...), autn...), serverData...)
	return base64.StdEncoding.EncodeToString(b)
}
