package bsf

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// Ub (TS 24.109 clause 4 and Annex A, TS 33.220 §4.5.2, RFC 3310):
//
//	UE → BSF  GET with Authorization: Digest username=IMPI, nonce="", response=""
//	BSF → UE  401, WWW-Authenticate: Digest realm, nonce=base64(RAND‖AUTN), algorithm=AKAv1-MD5,
//	          qop="auth-int", opaque
//	UE → BSF  GET with the Digest answer (password RES), or with auts= (password empty) after a
//	          synchronisation failure, which gets a new 401
//	BSF → UE  200, application/vnd.3gpp.bsf+xml BootstrappingInfo {B-TID, lifetime},
//	          Authentication-Info rspauth (password XRES, auth-int over the body), Expires
const (
	algAKAv1 = "AKAv1-MD5"
	qopInt   = "auth-int"
	// ContentTypeBSF is the media type of the BootstrappingInfo body (TS 24.109 Annex C, IANA).
	ContentTypeBSF = "application/vnd.3gpp.bsf+xml"
)

func (s *Server) serveUb(w http.ResponseWriter, r *http.Request) {
	// Every answer carries key-bearing or per-user data; no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		ubError(w, http.StatusMethodNotAllowed, "Ub bootstrapping uses GET (TS 24.109 A.3)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ubError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body longer than %d octets", mbe.Limit))
			return
		}
		ubError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		// Without the IMPI the BSF cannot fetch a vector (TS 24.109 §4.4: the first request carries
		// the username).
		ubError(w, http.StatusBadRequest, "missing Authorization: Digest username=<IMPI> (TS 24.109 A.3)")
		return
	}
	cred, err := gba.ParseCredentials(authz)
	if err != nil {
		s.metrics.BootstrapsFailed.Add(1)
		ubError(w, http.StatusBadRequest, "Authorization: "+err.Error())
		return
	}
	if cred.Username == "" {
		s.metrics.BootstrapsFailed.Add(1)
		ubError(w, http.StatusBadRequest, "Authorization: empty username")
		return
	}
	if cred.Algorithm != "" && !strings.EqualFold(cred.Algorithm, algAKAv1) {
		s.metrics.BootstrapsFailed.Add(1)
		ubError(w, http.StatusBadRequest, fmt.Sprintf("Authorization: algorithm %q, this BSF offers %s", cred.Algorithm, algAKAv1))
		return
	}
	if cred.Nonce == "" {
		// Initial request: the realm is not checked, the UE may not know it yet (it echoes ours).
		s.challenge(w, cred.Username, false)
		return
	}
	s.answer(w, r, cred, body)
}

// challenge fetches a vector and sends 401 with a new nonce (TS 24.109 A.4).
func (s *Server) challenge(w http.ResponseWriter, impi string, stale bool) {
	rnd := make([]byte, 16+16)
	if _, err := io.ReadFull(s.rand, rnd); err != nil {
		s.log.Error("Ub: randomness", "err", err)
		ubError(w, http.StatusInternalServerError, "no randomness")
		return
	}
	rand, opq := rnd[:16], rnd[16:]
	av, err := s.auc.Vector(impi, rand)
	if errors.Is(err, ErrUnknownIMPI) {
		s.metrics.BootstrapsFailed.Add(1)
		s.log.Info("Ub: unknown IMPI", "impi", impi)
		ubError(w, http.StatusForbidden, "unknown user")
		return
	}
	if err != nil {
		s.log.Error("Ub: AuC", "impi", impi, "err", err)
		ubError(w, http.StatusInternalServerError, "authentication vector unavailable")
		return
	}
	// No server data after RAND ‖ AUTN: a live BSF sent exactly 32 octets (spec digest §2.1).
	nonce := gba.AKANonce(av.RAND, av.AUTN, nil)
	opaque := hex.EncodeToString(opq)
	now := s.now()
	if !s.challenges.put(nonce, &challenge{impi: impi, av: av, opaque: opaque, expires: now.Add(s.cfg.NonceLifetime)}, now) {
		s.log.Warn("Ub: too many outstanding challenges", "impi", impi)
		w.Header().Set("Retry-After", "5")
		ubError(w, http.StatusServiceUnavailable, "too many outstanding challenges")
		return
	}
	s.metrics.Challenges.Add(1)
	ch := &gba.Challenge{Realm: s.cfg.Realm, Nonce: nonce, Opaque: opaque, Algorithm: algAKAv1,
		QOP: []string{qopInt}, Stale: stale}
	w.Header().Set("WWW-Authenticate", ch.String())
	s.log.Debug("Ub: challenge", "impi", impi, "stale", stale)
	ubError(w, http.StatusUnauthorized, "authentication required")
}

// answer checks a Digest answer to one of our challenges.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, c *gba.Credentials, body []byte) {
	ch, ok := s.challenges.get(c.Nonce)
	if !ok {
		// Unknown, used up or long expired: nothing to check the answer against; a new
		// challenge lets an honest UE carry on (RFC 2617 §3.2.1).
		s.log.Info("Ub: unknown nonce, new challenge", "impi", c.Username)
		s.challenge(w, c.Username, false)
		return
	}
	fail := func(status int, msg string) {
		s.metrics.BootstrapsFailed.Add(1)
		gone := s.challenges.fail(c.Nonce, s.cfg.MaxAuthFailures)
		s.log.Info("Ub: answer refused", "impi", c.Username, "reason", msg, "nonce_dropped", gone)
		ubError(w, status, msg)
	}
	switch {
	case c.Username != ch.impi:
		fail(http.StatusForbidden, "username does not match the challenge")
		return
	case c.Realm != s.cfg.Realm:
		fail(http.StatusForbidden, "realm does not match the challenge")
		return
	case subtle.ConstantTimeCompare([]byte(c.Opaque), []byte(ch.opaque)) != 1:
		fail(http.StatusForbidden, "opaque does not match the challenge")
		return
	case c.URI != r.RequestURI && c.URI != r.URL.RequestURI():
		fail(http.StatusBadRequest, "digest-uri does not match the Request-URI (RFC 2617 §3.2.2.5)")
		return
	case c.QOP != qopInt:
		fail(http.StatusBadRequest, fmt.Sprintf("qop %q, the challenge asked for %s", c.QOP, qopInt))
		return
	case !isNC(c.NC) || c.CNonce == "":
		fail(http.StatusBadRequest, "qop=auth-int needs nc (8 hex digits) and cnonce")
		return
	}
	if c.AUTS != "" {
		s.resync(w, r, c, ch, body, fail)
		return
	}
	if !checkResponse(c, ch.av.XRES, r.Method, body) {
		fail(http.StatusForbidden, "wrong Digest response")
		return
	}
	now := s.now()
	if !now.Before(ch.expires) {
		// RFC 2617 §3.2.1: the answer is right but the nonce is old; stale=true asks the UE to
		// retry with the new challenge without treating it as a failure.
		s.challenges.consume(c.Nonce)
		s.challenge(w, c.Username, true)
		return
	}
	if !s.challenges.consume(c.Nonce) {
		s.challenge(w, c.Username, false)
		return
	}
	s.bootstrapped(w, c, ch, now)
}

// resync handles an answer with auts (TS 24.109 A.4, TS 33.102 §6.3.5): the Digest response is
// made with an empty password (RFC 3310 §3.4), AUTS is checked by the AuC, which resets SQN_HE,
// and the UE gets a new challenge.
func (s *Server) resync(w http.ResponseWriter, r *http.Request, c *gba.Credentials, ch challenge, body []byte,
	fail func(int, string)) {
	if !checkResponse(c, nil, r.Method, body) {
		fail(http.StatusForbidden, "wrong Digest response on resynchronisation (empty password, RFC 3310 §3.4)")
		return
	}
	auts, err := base64.StdEncoding.DecodeString(c.AUTS)
	if err != nil || len(auts) != 14 {
		fail(http.StatusBadRequest, "auts is not base64 of 14 octets (TS 33.102 §6.3.3)")
		return
	}
	if !s.challenges.consume(c.Nonce) {
		s.challenge(w, c.Username, false)
		return
	}
	sqnMS, err := s.auc.Resync(ch.impi, ch.av.RAND, auts)
	if err != nil {
		s.metrics.BootstrapsFailed.Add(1)
		s.log.Info("Ub: resynchronisation refused", "impi", ch.impi, "err", err)
		ubError(w, http.StatusForbidden, "resynchronisation failed")
		return
	}
	s.metrics.Resyncs.Add(1)
	s.log.Info("Ub: resynchronised", "impi", ch.impi, "sqn_ms", fmt.Sprintf("%012x", sqnMS))
	s.challenge(w, ch.impi, false)
}

// bootstrapped stores the session and sends 200 with BootstrappingInfo (TS 24.109 A.5).
func (s *Server) bootstrapped(w http.ResponseWriter, c *gba.Credentials, ch challenge, now time.Time) {
	// The XML lifetime has second granularity on the wire; keep the session's expiry identical so
	// UE, BSF and NAF agree on it.
	expiry := now.Add(s.cfg.KeyLifetime).UTC().Truncate(time.Second)
	ks := append(append(make([]byte, 0, 32), ch.av.CK...), ch.av.IK...)
	sess := &bootstrapSession{BTID: gba.BTID(ch.av.RAND, s.cfg.Domain), IMPI: ch.impi,
		RAND: append([]byte(nil), ch.av.RAND...), Ks: ks, Created: now.UTC(), Expiry: expiry}
	info := &gba.BootstrappingInfo{BTID: sess.BTID, Lifetime: expiry}
	xml, err := info.Marshal()
	if err != nil {
		s.log.Error("Ub: BootstrappingInfo", "err", err)
		ubError(w, http.StatusInternalServerError, "cannot encode BootstrappingInfo")
		return
	}
	s.sessions.put(sess)
	rspauth := gba.RspAuth(c, ch.av.XRES, xml)
	h := w.Header()
	h.Set("Content-Type", ContentTypeBSF)
	h.Set("Authentication-Info", fmt.Sprintf("qop=%s, rspauth=%s, cnonce=%s, nc=%s, opaque=%s, nonce=%s",
		qopInt, quote(rspauth), quote(c.CNonce), c.NC, quote(ch.opaque), quote(c.Nonce)))
	h.Set("Expires", expiry.Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(xml)
	s.metrics.BootstrapsOK.Add(1)
	s.log.Info("Ub: bootstrapped", "impi", sess.IMPI, "btid", sess.BTID, "expiry", expiry)
}

// checkResponse recomputes the RFC 2617 request-digest with password (XRES, or empty on resync)
// and compares in constant time.
func checkResponse(c *gba.Credentials, password []byte, method string, body []byte) bool {
	want := gba.DigestResponse(c, password, method, body)
	got := strings.ToLower(c.Response)
	return len(got) == len(want) && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func isNC(nc string) bool {
	if len(nc) != 8 {
		return false
	}
	_, err := hex.DecodeString(nc)
	return err == nil
}

// quote makes an RFC 7230 quoted-string.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

func ubError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
