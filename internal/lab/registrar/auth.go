package registrar

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// pendingNonce is an outstanding challenge. Nonces are single-use: take removes them, so a
// replayed Authorization finds nothing and gets a fresh challenge (RFC 7616 §3.3 lets the
// server choose nonce lifetime and reuse; TS 33.203 §6.1 uses each AKA vector once).
type pendingNonce struct {
	impi    string
	alg     string
	created time.Time
	av      *gba.AuthVector // AKA only
}

type nonceStore struct {
	mu  sync.Mutex
	m   map[string]*pendingNonce
	max int
	ttl time.Duration
}

func newNonceStore(max int, ttl time.Duration) *nonceStore {
	return &nonceStore{m: map[string]*pendingNonce{}, max: max, ttl: ttl}
}

func (n *nonceStore) put(now time.Time, nonce string, p *pendingNonce) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.m) >= n.max {
		// Expired ones first; if none, the oldest goes, so a flood of initial REGISTERs
		// cannot grow memory without bound.
		var oldest string
		var oldestT time.Time
		for k, v := range n.m {
			if now.Sub(v.created) > n.ttl {
				n.drop(k)
				continue
			}
			if oldest == "" || v.created.Before(oldestT) {
				oldest, oldestT = k, v.created
			}
		}
		if len(n.m) >= n.max && oldest != "" {
			n.drop(oldest)
		}
	}
	n.m[nonce] = p
}

func (n *nonceStore) drop(k string) {
	if p := n.m[k]; p != nil && p.av != nil {
		p.av.Zero()
	}
	delete(n.m, k)
}

// take removes and returns the challenge for nonce.
func (n *nonceStore) take(nonce string) *pendingNonce {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.m[nonce]
	delete(n.m, nonce)
	return p
}

func (n *nonceStore) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.m)
}

// challenges builds the Digest challenges for acct and records their nonces. For an AKA account
// it fetches a fresh vector: nonce = base64(RAND ‖ AUTN) (RFC 3310 §3.2), qop "auth,auth-int"
// (TS 24.229 §5.4.1.2.1 [unverified]); the CK/IK parameters a P-CSCF would strip are never
// sent. For a password account one challenge per configured algorithm, preferred first (RFC
// 8760 §2.4), qop "auth".
func (s *Server) challenges(acct *Account, akaAlg string, stale bool) ([]*gba.Challenge, error) {
	now := s.now()
	if acct.AKA {
		alg := s.cfg.AKAAlgorithm
		if akaAlg == gba.AlgorithmAKAv1MD5 || akaAlg == gba.AlgorithmAKAv2MD5 {
			alg = akaAlg
		}
		rand := make([]byte, 16)
		if _, err := io.ReadFull(s.rand, rand); err != nil {
			return nil, fmt.Errorf("RAND: %w", err)
		}
		av, err := s.auc.Vector(acct.IMPI, rand)
		if err != nil {
			return nil, fmt.Errorf("AuC vector for %q: %w", acct.IMPI, err)
		}
		nonce := gba.AKANonce(av.RAND, av.AUTN, nil)
		s.nonces.put(now, nonce, &pendingNonce{impi: acct.IMPI, alg: alg, created: now, av: &av})
		return []*gba.Challenge{{Realm: s.cfg.Domain, Nonce: nonce, Algorithm: alg,
			QOP: []string{gba.QOPAuth, gba.QOPAuthInt}, Stale: stale}}, nil
	}
	var out []*gba.Challenge
	for _, alg := range s.cfg.DigestAlgorithms {
		raw := make([]byte, 16)
		if _, err := io.ReadFull(s.rand, raw); err != nil {
			return nil, fmt.Errorf("nonce: %w", err)
		}
		nonce := hex.EncodeToString(raw)
		s.nonces.put(now, nonce, &pendingNonce{impi: acct.IMPI, alg: alg, created: now})
		out = append(out, &gba.Challenge{Realm: s.cfg.Domain, Nonce: nonce, Algorithm: alg,
			QOP: []string{gba.QOPAuth}, Stale: stale})
	}
	return out, nil
}

// authVerdict is what verify decided.
type authVerdict int

const (
	authOK          authVerdict = iota
	authRechallenge             // unknown/used nonce, expired nonce (stale), or AKA resync done
	authForbidden               // wrong response, MAC failure, bad AUTS, identity mismatch: 403
	authBadRequest              // malformed answer: 400
)

type authResult struct {
	verdict authVerdict
	stale   bool
	akaAlg  string // algorithm to re-challenge with
	reason  string // for the status line and logs; never secret
	// password is the digest password (RES octets, AKAv2 text, or the account password) for
	// rspauth; nil unless verdict is authOK.
	password []byte
	hash     string
}

// verify checks a Digest answer against its pending challenge (RFC 7616 §3.4, RFC 3310 §3.3,
// §3.4, RFC 4169 §3). reqURI is the Request-URI, which digest-uri must equal (RFC 3261 §22.4:
// "uri" is the Request-URI). body is hashed for qop=auth-int.
func (s *Server) verify(c *gba.Credentials, acct *Account, method string, reqURI sip.Uri, body []byte) authResult {
	p := s.nonces.take(c.Nonce)
	if p == nil {
		return authResult{verdict: authRechallenge, akaAlg: c.Algorithm, reason: "unknown or used nonce"}
	}
	defer func() {
		if p.av != nil {
			p.av.Zero()
		}
	}()
	if p.impi != acct.IMPI || c.Username != acct.IMPI {
		return authResult{verdict: authForbidden, reason: "username does not match the challenge"}
	}
	if c.Realm != s.cfg.Domain {
		return authResult{verdict: authForbidden, reason: "wrong realm"}
	}
	if !strings.EqualFold(c.Algorithm, p.alg) && !(c.Algorithm == "" && p.alg == gba.AlgorithmMD5) {
		return authResult{verdict: authForbidden, reason: "algorithm differs from the challenge"}
	}
	allowed := []string{gba.QOPAuth}
	if p.av != nil {
		allowed = append(allowed, gba.QOPAuthInt)
	}
	if !slices.Contains(allowed, c.QOP) {
		// RFC 7616 §3.4: a client answering a challenge with qop MUST use one of its values.
		return authResult{verdict: authBadRequest, reason: "qop missing or not offered"}
	}
	var du sip.Uri
	if err := sip.ParseUri(c.URI, &du); err != nil || !sameURI(du, reqURI) {
		return authResult{verdict: authBadRequest, reason: "digest-uri is not the Request-URI"}
	}
	h := digestHash(p.alg)
	if s.now().Sub(p.created) > s.cfg.NonceLifetime {
		// RFC 7616 §3.3 stale: only when the answer itself is right; otherwise 403.
		var pw []byte
		if p.av == nil {
			pw = []byte(acct.Password)
		} else {
			pw = akaPassword(p.alg, p.av)
		}
		if c.AUTS == "" && equalDigest(requestDigest(h, c, pw, method, body), c.Response) {
			return authResult{verdict: authRechallenge, stale: true, akaAlg: p.alg, reason: "nonce expired"}
		}
		return authResult{verdict: authForbidden, reason: "wrong response to an expired nonce"}
	}
	if p.av == nil {
		pw := []byte(acct.Password)
		if !equalDigest(requestDigest(h, c, pw, method, body), c.Response) {
			return authResult{verdict: authForbidden, reason: "wrong digest response"}
		}
		return authResult{verdict: authOK, password: pw, hash: p.alg}
	}
	if c.AUTS != "" {
		// RFC 3310 §3.4: synchronisation failure; the response was computed over an empty
		// password [the "empty password" wording is unverified, see gba.md §12.1].
		if !equalDigest(requestDigest(h, c, nil, method, body), c.Response) {
			return authResult{verdict: authForbidden, reason: "resync answer with a wrong response"}
		}
		auts, err := base64.StdEncoding.DecodeString(c.AUTS)
		if err != nil || len(auts) != 14 {
			return authResult{verdict: authBadRequest, reason: "auts is not base64 of 14 octets"}
		}
		if _, err := s.auc.Resync(acct.IMPI, p.av.RAND, auts); err != nil {
			return authResult{verdict: authForbidden, reason: "AUTS does not verify"}
		}
		return authResult{verdict: authRechallenge, akaAlg: p.alg, reason: "resynchronised"}
	}
	pw := akaPassword(p.alg, p.av)
	if !equalDigest(requestDigest(h, c, pw, method, body), c.Response) {
		// A wrong RES and the UE's MAC-failure answer (empty password, no auts) both land
		// here (TS 24.229 §5.4.1.2.3 [unverified]: the S-CSCF answers 403).
		return authResult{verdict: authForbidden, reason: "wrong AKA response"}
	}
	return authResult{verdict: authOK, password: pw, hash: p.alg}
}

// akaPassword is the Digest password: RES octets for AKAv1-MD5 (RFC 3310 §3.3), the base64
// text of HMAC-MD5(RES‖IK‖CK, "http-digest-akav2-password") for AKAv2-MD5 (RFC 4169 §3).
func akaPassword(alg string, av *gba.AuthVector) []byte {
	if strings.EqualFold(alg, gba.AlgorithmAKAv2MD5) {
		return gba.AKAv2Password(av.XRES, av.IK, av.CK)
	}
	return slices.Clone(av.XRES)
}

func equalDigest(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(got))) == 1
}

// sameURI compares the parts of a SIP URI a client may format differently (RFC 3261 §19.1.4).
func sameURI(a, b sip.Uri) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && a.User == b.User &&
		strings.EqualFold(a.Host, b.Host) && a.Port == b.Port
}

// authenticationInfo is the Authentication-Info value (RFC 7616 §3.5, RFC 2617 §3.2.3):
// rspauth is request-digest with an empty method, proving the server knew the password (for AKA:
// XRES, RFC 3310 §3.3).
func authenticationInfo(c *gba.Credentials, alg string, password []byte) string {
	ai := gba.AuthenticationInfo{QOP: c.QOP, RspAuth: requestDigest(digestHash(alg), c, password, "", nil),
		CNonce: c.CNonce, NC: c.NC}
	return ai.String()
}
