package sdes

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// AttributeName is the SDP attribute name; unlike its value it is case-sensitive (RFC 4568 §4).
const AttributeName = "crypto"

// Session parameter names (RFC 4568 §6.3, §9.2).
const (
	ParamKDR                 = "KDR"
	ParamUnencryptedSRTP     = "UNENCRYPTED_SRTP"
	ParamUnencryptedSRTCP    = "UNENCRYPTED_SRTCP"
	ParamUnauthenticatedSRTP = "UNAUTHENTICATED_SRTP"
	ParamFECOrder            = "FEC_ORDER"
	ParamFECKey              = "FEC_KEY"
	ParamWSH                 = "WSH"
)

// FEC orders of RFC 4568 §6.3.4.
const (
	FECOrderFECSRTP = "FEC_SRTP"
	FECOrderSRTPFEC = "SRTP_FEC"
)

const (
	maxMKILen = 128 // RFC 4568 §6.1 and §9.2: mki-length 1..128
	maxKDR    = 24  // RFC 4568 §9.2: range 0..24
	minWSH    = 64  // RFC 4568 §6.3.6, RFC 3711 §3.3.2
)

// Crypto is one a=crypto attribute (RFC 4568 §4, §9). It holds master keys: String and
// LogValue redact them, Marshal writes them.
type Crypto struct {
	// Tag identifies the line within its media description (RFC 4568 §4.1).
	Tag uint32
	// Suite is the registered name of a known suite (aliases are normalised), or the name as
	// received for a suite this package does not know.
	Suite string
	// Keys are the inline master keys, at least one (RFC 4568 §6.1).
	Keys []KeyParam

	// Session parameters (RFC 4568 §6.3). HasKDR tells KDR=0 from an absent KDR.
	HasKDR              bool
	KDR                 uint8
	UnencryptedSRTP     bool
	UnencryptedSRTCP    bool
	UnauthenticatedSRTP bool
	FECOrder            string     // "" when absent, else FECOrderFECSRTP or FECOrderSRTPFEC
	FECKeys             []KeyParam // FEC_KEY (§6.3.5); nil when absent
	WSH                 uint32     // window size hint (§6.3.6); 0 when absent
	// Extensions are session parameters this package does not know, as received. Per §6.3.7
	// one not starting with "-" is mandatory and makes the line unacceptable to us.
	Extensions []string
}

// KeyParam is one "inline:" key (RFC 4568 §6.1).
type KeyParam struct {
	// KeySalt is the master key followed by the master salt.
	KeySalt []byte
	// Lifetime is the master key lifetime in packets; 0 means the suite default.
	Lifetime uint64
	// MKI is the master key identifier as carried in SRTP packets: big-endian, its length is
	// the MKI length of the attribute. nil when the key has no MKI.
	MKI []byte
}

// ParseError reports a malformed attribute: which field, where (byte offset in the input)
// and why. It never contains key material.
type ParseError struct {
	Field  string
	Offset int
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("sdes: crypto attribute: %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Errors wrapped by ParseError.
var (
	ErrSyntax      = errors.New("syntax error")
	ErrKeyLength   = errors.New("key||salt length does not match the crypto suite")
	ErrDuplicate   = errors.New("duplicated parameter")
	ErrUnsupported = errors.New("not supported")
)

func perr(field string, off int, format string, args ...any) error {
	return &ParseError{Field: field, Offset: off, Err: fmt.Errorf(format, args...)}
}

type token struct {
	s   string
	off int
}

// tokenize splits at runs of WSP (RFC 4568 §9.1: 1*WSP separates the fields) and rejects any
// other byte outside VCHAR.
func tokenize(s string, base int) ([]token, error) {
	var toks []token
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if start >= 0 {
				toks = append(toks, token{s[start:i], base + start})
				start = -1
			}
		case c < 0x21 || c > 0x7e:
			return nil, perr("attribute", base+i, "%w: byte 0x%02x is not a visible character", ErrSyntax, c)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		toks = append(toks, token{s[start:], base + start})
	}
	return toks, nil
}

// Parse parses an a=crypto attribute value, with or without a leading "a=crypto:" or
// "crypto:" (RFC 4568 §9.1 and §9.2).
func Parse(s string) (*Crypto, error) {
	base := 0
	for _, p := range []string{"a=" + AttributeName + ":", AttributeName + ":"} {
		if strings.HasPrefix(s, p) {
			base = len(p)
			break
		}
	}
	toks, err := tokenize(s[base:], base)
	if err != nil {
		return nil, err
	}
	if len(toks) < 3 {
		return nil, perr("attribute", len(s), "%w: want <tag> <crypto-suite> <key-params>, got %d fields", ErrSyntax, len(toks))
	}
	c := &Crypto{}
	tag, err := parseDecimal(toks[0].s, 9)
	if err != nil {
		return nil, &ParseError{Field: "tag", Offset: toks[0].off, Err: err}
	}
	c.Tag = uint32(tag)

	if !isSuiteName(toks[1].s) {
		return nil, perr("crypto-suite", toks[1].off, "%w: crypto-suite must be letters, digits and _", ErrSyntax)
	}
	suite, known := LookupSuite(toks[1].s)
	c.Suite = toks[1].s
	if known {
		c.Suite = suite.Name
	}
	keyLen := -1
	if known {
		keyLen = suite.KeySaltLen()
	}
	if c.Keys, err = parseKeyParams(toks[2].s, toks[2].off, "key-params", keyLen); err != nil {
		return nil, err
	}
	for _, t := range toks[3:] {
		if err := c.parseSessionParam(t, keyLen); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func isSuiteName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// parseDecimal parses 1*maxDigits DIGIT without leading zeroes (RFC 4568 §4.1, §6.1).
func parseDecimal(s string, maxDigits int) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty number", ErrSyntax)
	}
	if len(s) > maxDigits {
		return 0, fmt.Errorf("%w: more than %d digits", ErrSyntax, maxDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q is not a decimal number", ErrSyntax, s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%w: %q has leading zeroes", ErrSyntax, s)
	}
	return strconv.ParseUint(s, 10, 64)
}

// parseKeyParams parses key-params = key-param *(";" key-param). keySaltLen < 0 means the
// suite is unknown and the key length cannot be checked.
func parseKeyParams(s string, off int, field string, keySaltLen int) ([]KeyParam, error) {
	var keys []KeyParam
	pos := 0
	for _, part := range strings.Split(s, ";") {
		kp, err := parseKeyParam(part, off+pos, field, keySaltLen)
		if err != nil {
			return nil, err
		}
		keys = append(keys, kp)
		pos += len(part) + 1
	}
	// RFC 4568 §6.1: with several keys every key has an MKI, all of one length, so that a
	// packet names its key (§4.3: no trial and error).
	if len(keys) > 1 {
		for i, k := range keys {
			if k.MKI == nil {
				return nil, perr(field, off, "%w: key %d of %d has no MKI", ErrSyntax, i+1, len(keys))
			}
			if len(k.MKI) != len(keys[0].MKI) {
				return nil, perr(field, off, "%w: MKI lengths differ (%d and %d)", ErrSyntax, len(keys[0].MKI), len(k.MKI))
			}
			for j := range i {
				if string(keys[j].MKI) == string(k.MKI) {
					return nil, perr(field, off, "%w: MKI of key %d repeats key %d", ErrDuplicate, i+1, j+1)
				}
			}
		}
	}
	return keys, nil
}

// parseKeyParam parses "inline:" key-salt ["|" lifetime] ["|" mki] (RFC 4568 §9.2).
func parseKeyParam(s string, off int, field string, keySaltLen int) (KeyParam, error) {
	var kp KeyParam
	method, info, ok := strings.Cut(s, ":")
	if !ok {
		return kp, perr(field, off, "%w: key-param has no key-method", ErrSyntax)
	}
	if !strings.EqualFold(method, "inline") {
		if !isSuiteName(method) {
			return kp, perr(field, off, "%w: bad key-method", ErrSyntax)
		}
		return kp, perr(field, off, "key-method %q: %w (only inline, RFC 4568 §6.1)", method, ErrUnsupported)
	}
	off += len(method) + 1
	fields := strings.Split(info, "|")
	if len(fields) > 3 {
		return kp, perr(field, off, "%w: more than key||salt, lifetime and MKI", ErrSyntax)
	}
	ks, err := decodeKeySalt(fields[0])
	if err != nil {
		return kp, &ParseError{Field: field + " key||salt", Offset: off, Err: err}
	}
	if keySaltLen >= 0 && len(ks) != keySaltLen {
		return kp, perr(field+" key||salt", off, "%w: %d octets, want %d", ErrKeyLength, len(ks), keySaltLen)
	}
	kp.KeySalt = ks
	off += len(fields[0]) + 1
	rest := fields[1:]
	// The lifetime never contains a colon and the MKI always does (RFC 4568 §6.1).
	if len(rest) > 0 && !strings.Contains(rest[0], ":") {
		lt, err := parseLifetime(rest[0])
		if err != nil {
			return kp, &ParseError{Field: field + " lifetime", Offset: off, Err: err}
		}
		kp.Lifetime = lt
		off += len(rest[0]) + 1
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if !strings.Contains(rest[0], ":") {
			return kp, perr(field+" MKI", off, "%w: lifetime given twice or MKI without length", ErrSyntax)
		}
		mki, err := parseMKI(rest[0])
		if err != nil {
			return kp, &ParseError{Field: field + " MKI", Offset: off, Err: err}
		}
		kp.MKI = mki
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return kp, perr(field, off, "%w: field after the MKI", ErrSyntax)
	}
	return kp, nil
}

// decodeKeySalt decodes base64 with or without "=" padding (RFC 4568 §6.1: padding
// characters are discarded; landscape §2.1: peers differ on padding).
func decodeKeySalt(s string) ([]byte, error) {
	raw := strings.TrimRight(s, "=")
	if len(s)-len(raw) > 2 {
		return nil, fmt.Errorf("%w: too much base64 padding", ErrSyntax)
	}
	if raw == "" {
		return nil, fmt.Errorf("%w: empty key||salt", ErrSyntax)
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		// The base64 error names only an offset, never key bytes.
		return nil, fmt.Errorf("%w: key||salt is not base64: %v", ErrSyntax, err)
	}
	return b, nil
}

// parseLifetime parses lifetime = ["2^"] 1*(DIGIT): a positive count of packets without
// leading zeroes, at most 2^48 (RFC 4568 §6.1).
func parseLifetime(s string) (uint64, error) {
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := parseDecimal(exp, 2)
		if err != nil {
			return 0, err
		}
		if n > 48 {
			return 0, fmt.Errorf("%w: lifetime 2^%d exceeds 2^48", ErrSyntax, n)
		}
		return 1 << n, nil
	}
	n, err := parseDecimal(s, 15)
	if err != nil {
		return 0, err
	}
	if n == 0 || n > maxLifetime {
		return 0, fmt.Errorf("%w: lifetime %d not in 1..2^48", ErrSyntax, n)
	}
	return n, nil
}

// parseMKI parses mki-value ":" mki-length and returns the MKI as it appears in packets,
// big-endian in mki-length octets (RFC 4568 §6.1).
func parseMKI(s string) ([]byte, error) {
	v, l, _ := strings.Cut(s, ":")
	n, err := parseDecimal(l, 3)
	if err != nil {
		return nil, fmt.Errorf("MKI length: %w", err)
	}
	if n < 1 || n > maxMKILen {
		return nil, fmt.Errorf("%w: MKI length %d not in 1..%d", ErrSyntax, n, maxMKILen)
	}
	// 309 digits hold any 128-octet value; more cannot fit.
	if _, err := parseDecimal(v, 309); err != nil {
		if len(v) > 309 {
			return nil, fmt.Errorf("%w: MKI value does not fit %d octets", ErrSyntax, n)
		}
		return nil, fmt.Errorf("MKI value: %w", err)
	}
	var val big.Int
	val.SetString(v, 10)
	if val.BitLen() > int(n)*8 {
		return nil, fmt.Errorf("%w: MKI value does not fit %d octets", ErrSyntax, n)
	}
	return val.FillBytes(make([]byte, n)), nil
}

func (c *Crypto) parseSessionParam(t token, keySaltLen int) error {
	name, value, hasValue := strings.Cut(t.s, "=")
	upper := strings.ToUpper(name)
	dup := func(seen bool) error {
		if seen {
			return perr("session-param "+upper, t.off, "%w", ErrDuplicate)
		}
		return nil
	}
	noValue := func() error {
		if hasValue {
			return perr("session-param "+upper, t.off, "%w: takes no value", ErrSyntax)
		}
		return nil
	}
	switch upper {
	case ParamKDR:
		if err := dup(c.HasKDR); err != nil {
			return err
		}
		n, err := parseDecimal(value, 2)
		if err == nil && n > maxKDR {
			err = fmt.Errorf("%w: KDR %d not in 0..%d", ErrSyntax, n, maxKDR)
		}
		if err != nil {
			return &ParseError{Field: "session-param KDR", Offset: t.off, Err: err}
		}
		c.HasKDR, c.KDR = true, uint8(n)
	case ParamUnencryptedSRTP:
		if err := dup(c.UnencryptedSRTP); err != nil {
			return err
		}
		c.UnencryptedSRTP = true
		return noValue()
	case ParamUnencryptedSRTCP:
		if err := dup(c.UnencryptedSRTCP); err != nil {
			return err
		}
		c.UnencryptedSRTCP = true
		return noValue()
	case ParamUnauthenticatedSRTP:
		if err := dup(c.UnauthenticatedSRTP); err != nil {
			return err
		}
		c.UnauthenticatedSRTP = true
		return noValue()
	case ParamFECOrder:
		if err := dup(c.FECOrder != ""); err != nil {
			return err
		}
		switch v := strings.ToUpper(value); v {
		case FECOrderFECSRTP, FECOrderSRTPFEC:
			c.FECOrder = v
		default:
			return perr("session-param FEC_ORDER", t.off, "%w: want FEC_SRTP or SRTP_FEC", ErrSyntax)
		}
	case ParamFECKey:
		if err := dup(c.FECKeys != nil); err != nil {
			return err
		}
		keys, err := parseKeyParams(value, t.off+len(name)+1, "session-param FEC_KEY", keySaltLen)
		if err != nil {
			return err
		}
		c.FECKeys = keys
	case ParamWSH:
		if err := dup(c.WSH != 0); err != nil {
			return err
		}
		n, err := parseDecimal(value, 10)
		if err == nil && (n < minWSH || n > 1<<32-1) {
			err = fmt.Errorf("%w: WSH %d not in %d..2^32-1", ErrSyntax, n, minWSH)
		}
		if err != nil {
			return &ParseError{Field: "session-param WSH", Offset: t.off, Err: err}
		}
		c.WSH = uint32(n)
	default:
		c.Extensions = append(c.Extensions, t.s)
	}
	return nil
}

// Marshal writes the attribute value (without "crypto:"), keys included: it is for the SDP
// body only. Known suites use their registered spelling, base64 is padded (RFC 3548 §3),
// a power-of-two lifetime is written as 2^n, and session parameters follow in the order of
// RFC 4568 §6.3.
func (c *Crypto) Marshal() string {
	return string(c.appendText(nil, false))
}

// String is the attribute value with each key||salt replaced by "[redacted]".
func (c *Crypto) String() string {
	if c == nil {
		return "<nil>"
	}
	return string(c.appendText(nil, true))
}

// GoString redacts like String, so %#v cannot leak keys.
func (c *Crypto) GoString() string { return "sdes.Crypto{" + c.String() + "}" }

// LogValue logs the attribute without key material.
func (c *Crypto) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("tag", uint64(c.Tag)),
		slog.String("suite", c.Suite),
		slog.Int("keys", len(c.Keys)),
		slog.String("crypto", c.String()),
	)
}

func (c *Crypto) appendText(b []byte, redact bool) []byte {
	b = strconv.AppendUint(b, uint64(c.Tag), 10)
	b = append(b, ' ')
	b = append(b, c.Suite...)
	b = append(b, ' ')
	b = appendKeyParams(b, c.Keys, redact)
	if c.HasKDR {
		b = append(b, " KDR="...)
		b = strconv.AppendUint(b, uint64(c.KDR), 10)
	}
	if c.UnencryptedSRTP {
		b = append(b, " "+ParamUnencryptedSRTP...)
	}
	if c.UnencryptedSRTCP {
		b = append(b, " "+ParamUnencryptedSRTCP...)
	}
	if c.UnauthenticatedSRTP {
		b = append(b, " "+ParamUnauthenticatedSRTP...)
	}
	if c.FECOrder != "" {
		b = append(b, " FEC_ORDER="...)
		b = append(b, c.FECOrder...)
	}
	if c.FECKeys != nil {
		b = append(b, " FEC_KEY="...)
		b = appendKeyParams(b, c.FECKeys, redact)
	}
	if c.WSH != 0 {
		b = append(b, " WSH="...)
		b = strconv.AppendUint(b, uint64(c.WSH), 10)
	}
	for _, e := range c.Extensions {
		b = append(b, ' ')
		b = append(b, e...)
	}
	return b
}

func appendKeyParams(b []byte, keys []KeyParam, redact bool) []byte {
	for i, k := range keys {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, "inline:"...)
		if redact {
			b = append(b, "[redacted]"...)
		} else {
			b = base64.StdEncoding.AppendEncode(b, k.KeySalt)
		}
		if k.Lifetime != 0 {
			b = append(b, '|')
			if k.Lifetime&(k.Lifetime-1) == 0 && k.Lifetime > 1 {
				b = append(b, "2^"...)
				b = strconv.AppendInt(b, int64(bits.TrailingZeros64(k.Lifetime)), 10)
			} else {
				b = strconv.AppendUint(b, k.Lifetime, 10)
			}
		}
		if k.MKI != nil {
			b = append(b, '|')
			b = append(b, new(big.Int).SetBytes(k.MKI).String()...)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(len(k.MKI)), 10)
		}
	}
	return b
}

// Mandatory reports the extension session parameters that RFC 4568 §6.3.7 makes mandatory
// (those not starting with "-"); a line carrying any cannot be accepted by us.
func (c *Crypto) Mandatory() []string {
	var out []string
	for _, e := range c.Extensions {
		if !strings.HasPrefix(e, "-") {
			out = append(out, e)
		}
	}
	return out
}
