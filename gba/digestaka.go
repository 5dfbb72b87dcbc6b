package gba

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// AKAOutcome says which of the three RFC 3310 answers a DigestAKAClient produced.
type AKAOutcome int

const (
	// AKASuccess: the USIM accepted AUTN; response is computed with the RES-based password.
	AKASuccess AKAOutcome = iota
	// AKASyncFailure: SQN not fresh; the answer carries auts and a response computed with an
	// empty password (RFC 3310 §3.4; TS 24.109 §4.5, Table A.4-1).
	AKASyncFailure
	// AKAMACFailure: AUTN did not verify, so the network is not authentic. The answer carries no
	// auts and a response computed with an empty password, which tells the server that the UE
	// rejected the challenge; nothing derived from K is sent (see DigestAKAClient.Answer).
	AKAMACFailure
)

func (o AKAOutcome) String() string {
	switch o {
	case AKASuccess:
		return "success"
	case AKASyncFailure:
		return "synchronisation failure"
	case AKAMACFailure:
		return "MAC failure"
	}
	return fmt.Sprintf("AKAOutcome(%d)", int(o))
}

// DigestAKAClient answers HTTP Digest AKA challenges (RFC 3310 AKAv1-MD5, RFC 4169 AKAv2-MD5)
// with a USIM.
type DigestAKAClient struct {
	USIM USIM
	// Username defaults to USIM.IMPI().
	Username string
	// Realm is the realm the client expects; a challenge for another realm is refused. "" accepts
	// any realm (and echoes it, TS 24.109 A.4).
	Realm string
	// Rand is the source of cnonce; nil means crypto/rand.
	Rand io.Reader
}

// DigestAKAAnswer is the client's answer to one challenge.
type DigestAKAAnswer struct {
	Outcome     AKAOutcome
	Credentials *Credentials
	// Password is the digest password used for Response (RES octets for AKAv1, the AKAv2 base64
	// text, or empty); the client needs it to check rspauth. Nil unless Outcome is AKASuccess.
	Password []byte
	// Result holds RES, CK, IK (AKASuccess only).
	Result *AKAResult
	// SyncFailure is the USIM's error for AKASyncFailure.
	SyncFailure *SyncFailure
}

// Zero wipes the password and the AKA result.
func (a *DigestAKAAnswer) Zero() {
	clear(a.Password)
	if a.Result != nil {
		a.Result.Zero()
	}
}

// String redacts the password and keys.
func (a *DigestAKAAnswer) String() string {
	return fmt.Sprintf("DigestAKAAnswer{%s, %s}", a.Outcome, a.Credentials)
}

// ErrRealm reports a challenge for a realm other than the expected one.
var ErrRealm = errors.New("digest challenge for an unexpected realm")

// Answer computes the Authorization for ch, a request with method, uri and body (for auth-int),
// using nonce count nc. It prefers qop auth-int when offered, then auth, then none (RFC 2069 form).
//
// Outcomes (RFC 3310 §3):
//   - success: password = RES octets (AKAv1-MD5) or AKAv2Password(RES, IK, CK) (AKAv2-MD5);
//   - SQN not fresh: auts = base64(AUTS) and response computed over an empty password;
//   - MAC failure: no auts, and response computed over an empty password. The text of RFC 3310
//     and TS 24.109 §4.4 for this case could not be retrieved; this is what Nokia's Symbian SIP
//     stack does (CSIPSecSIMCredentialsProvider::AuthenticationFailedL: on MAC failure
//     "empty password", no AUTS), and it matches the IMS description of a UE reporting network
//     authentication failure with "an empty authorization ... and no AUTS", which the server
//     answers with 403. The server can tell it from a wrong RES by recomputing with the empty
//     password. It reveals nothing derived from K.
func (c *DigestAKAClient) Answer(ctx context.Context, ch *Challenge, method, uri string, body []byte, nc uint32) (*DigestAKAAnswer, error) {
	if c.USIM == nil {
		return nil, errors.New("digest AKA: no USIM")
	}
	alg := ch.Algorithm
	isV2 := strings.EqualFold(alg, AlgorithmAKAv2MD5)
	if !isV2 && !strings.EqualFold(alg, AlgorithmAKAv1MD5) {
		return nil, fmt.Errorf("digest AKA: algorithm %q is neither %s nor %s", alg, AlgorithmAKAv1MD5, AlgorithmAKAv2MD5)
	}
	if c.Realm != "" && ch.Realm != c.Realm {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrRealm, ch.Realm, c.Realm)
	}
	randv, autn, _, err := SplitAKANonce(ch.Nonce)
	if err != nil {
		return nil, fmt.Errorf("digest AKA: %w", err)
	}
	user := c.Username
	if user == "" {
		user = c.USIM.IMPI()
	}
	cred := &Credentials{Username: user, Realm: ch.Realm, Nonce: ch.Nonce, URI: uri, Algorithm: alg, Opaque: ch.Opaque}
	switch {
	case ch.HasQOP(QOPAuthInt):
		cred.QOP = QOPAuthInt
	case ch.HasQOP(QOPAuth):
		cred.QOP = QOPAuth
	case len(ch.QOP) > 0:
		return nil, fmt.Errorf("digest AKA: no supported qop in %q", ch.QOP)
	}
	if cred.QOP != "" {
		cn := make([]byte, 16)
		r := c.Rand
		if r == nil {
			r = rand.Reader
		}
		if _, err := io.ReadFull(r, cn); err != nil {
			return nil, fmt.Errorf("digest AKA: cnonce: %w", err)
		}
		cred.CNonce = hex.EncodeToString(cn)
		cred.NC = fmt.Sprintf("%08x", nc)
	}

	res, err := c.USIM.Authenticate(ctx, randv, autn)
	var sf *SyncFailure
	switch {
	case err == nil:
		var pw []byte
		if isV2 {
			pw = AKAv2Password(res.RES, res.IK, res.CK)
		} else {
			pw = append([]byte(nil), res.RES...)
		}
		cred.Response = DigestResponse(cred, pw, method, body)
		return &DigestAKAAnswer{Outcome: AKASuccess, Credentials: cred, Password: pw, Result: res}, nil
	case errors.As(err, &sf):
		cred.AUTS = base64.StdEncoding.EncodeToString(sf.AUTS)
		cred.Response = DigestResponse(cred, nil, method, body)
		return &DigestAKAAnswer{Outcome: AKASyncFailure, Credentials: cred, SyncFailure: sf}, nil
	case errors.Is(err, ErrMACFailure):
		cred.Response = DigestResponse(cred, nil, method, body)
		return &DigestAKAAnswer{Outcome: AKAMACFailure, Credentials: cred}, nil
	default:
		return nil, fmt.Errorf("digest AKA: USIM: %w", err)
	}
}

// AuthenticationInfo is the Authentication-Info header of RFC 2617 §3.2.3.
type AuthenticationInfo struct {
	NextNonce, QOP, RspAuth, CNonce, NC string
	Extra                               []Param
}

// ParseAuthenticationInfo parses an Authentication-Info value (a bare auth-param list, no scheme).
func ParseAuthenticationInfo(h string) (*AuthenticationInfo, error) {
	// a bare auth-param list (RFC 2617 §3.2.3), no scheme
	s := strings.TrimLeft(h, " \t")
	params, err := paramList(s, len(h)-len(s), 0, "Authentication-Info")
	if err != nil {
		return nil, err
	}
	ai := &AuthenticationInfo{}
	for _, p := range params {
		switch p.Name {
		case "nextnonce":
			ai.NextNonce = p.Value
		case "qop":
			ai.QOP = p.Value
		case "rspauth":
			ai.RspAuth = p.Value
		case "cnonce":
			ai.CNonce = p.Value
		case "nc":
			ai.NC = p.Value
		default:
			ai.Extra = append(ai.Extra, p)
		}
	}
	return ai, nil
}

// String formats ai as an Authentication-Info value.
func (ai *AuthenticationInfo) String() string {
	var b strings.Builder
	b.WriteString("Digest ")
	if ai.QOP != "" {
		writeParam(&b, "qop", ai.QOP)
	}
	writeQuoted(&b, "rspauth", ai.RspAuth)
	if ai.CNonce != "" {
		writeQuoted(&b, "cnonce", ai.CNonce)
	}
	if ai.NC != "" {
		writeParam(&b, "nc", ai.NC)
	}
	if ai.NextNonce != "" {
		writeQuoted(&b, "nextnonce", ai.NextNonce)
	}
	writeExtra(&b, ai.Extra)
	return strings.TrimPrefix(b.String(), "Digest ")
}
