package bsf

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

// serveZn answers the Nbsp_GBA-style BootstrappingInfoRetrieval (TS 33.220 §4.5.3, modelled on
// TS 29.309): the NAF sends B-TID and NAF_Id; the BSF derives Ks_(ext)_NAF from the session's Ks
// with the NAF_Id it received (TS 33.220 Annex B) and returns it with the key expiry.
func (s *Server) serveZn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != zn.RetrievalPath {
		problem(w, http.StatusNotFound, "RESOURCE_URI_STRUCTURE_NOT_FOUND", "no such resource: "+r.URL.Path)
		return
	}
	if !s.znAuthenticated(r) {
		s.metrics.ZnUnauthorized.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="nbsp-gba"`)
		problem(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Zn needs a bearer token or a client certificate")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		problem(w, http.StatusMethodNotAllowed, "", "BootstrappingInfoRetrieval is a POST")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != zn.ContentTypeJSON {
		s.metrics.ZnBadRequests.Add(1)
		problem(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "want Content-Type application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		s.metrics.ZnBadRequests.Add(1)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("body longer than %d octets", mbe.Limit))
			return
		}
		problem(w, http.StatusBadRequest, "INVALID_MSG_FORMAT", "read body: "+err.Error())
		return
	}
	req, naf, err := zn.ParseBootstrappingInfoRequest(body)
	if err != nil {
		s.metrics.ZnBadRequests.Add(1)
		problem(w, http.StatusBadRequest, "INVALID_MSG_FORMAT", err.Error())
		return
	}
	sess, ok := s.sessions.get(req.BtID, s.now())
	if !ok {
		s.metrics.ZnLookupsNotFound.Add(1)
		s.log.Info("Zn: B-TID unknown or expired", "btid", req.BtID, "naf", naf.FQDN)
		problem(w, http.StatusNotFound, zn.CauseBTIDNotFound, "B-TID unknown or expired; the UE has to bootstrap again")
		return
	}
	ksNAF := gba.DeriveKsNAF(sess.Ks, sess.RAND, sess.IMPI, naf)
	resp := zn.BootstrappingInfoResponse{
		MeKeyMaterial:                 hex.EncodeToString(ksNAF),
		KeyExpiryTime:                 sess.Expiry.UTC().Format(time.RFC3339),
		BootstrappingInfoCreationTime: sess.Created.UTC().Format(time.RFC3339),
		GbaType:                       zn.GBAType3G,
		Impi:                          sess.IMPI,
	}
	out, err := json.Marshal(resp)
	if err != nil {
		problem(w, http.StatusInternalServerError, "SYSTEM_FAILURE", "encode answer")
		return
	}
	w.Header().Set("Content-Type", zn.ContentTypeJSON)
	_, _ = w.Write(out)
	s.metrics.ZnLookupsOK.Add(1)
	s.log.Info("Zn: Ks_NAF issued", "btid", sess.BTID, "naf", naf.FQDN, "ua", hex.EncodeToString(naf.UaSecProtID[:]),
		"gba_u_aware", req.GbaUAware)
}

// znAuthenticated accepts a verified client certificate (the TLS layer checked it against
// ZnClientCAs) or one of the configured bearer tokens, compared in constant time.
func (s *Server) znAuthenticated(r *http.Request) bool {
	if s.cfg.ZnClientCAs != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	h := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	tok := []byte(strings.TrimSpace(h[len(scheme):]))
	found := 0
	for _, t := range s.znTokens {
		found |= subtle.ConstantTimeCompare(tok, t)
	}
	return found == 1
}

// problem writes a TS 29.571 ProblemDetails (RFC 7807) answer.
func problem(w http.ResponseWriter, status int, cause, detail string) {
	b, _ := json.Marshal(zn.ProblemDetails{Title: http.StatusText(status), Status: status, Detail: detail, Cause: cause})
	w.Header().Set("Content-Type", zn.ContentTypeProblem)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
