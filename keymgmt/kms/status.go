package kms

import (
	"net/http"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// HTTP status codes of the KMS (TS 33.328 text unverified; our choice, listed in doc.go). Every
// MIKEY failure is answered with a MIKEY Error message (RFC 6043 §5.4) and one of these statuses,
// so that a UE can act on the status alone:
//
//	200 OK                      REQUEST_RESP or RESOLVE_RESP
//	400 Bad Request             unparsable message, wrong data type, unsupported PRF/MAC/ticket
//	                            type or TP parameters (ERR 2, 3, 11, 12, 13, 14, 15)
//	401 Unauthorized            unknown or expired B-TID: bootstrap again (ERR 0, unauthenticated,
//	                            WWW-Authenticate: 3GPP-bootstrapping, as a NAF does, TS 24.109 §5.2.4)
//	403 Forbidden               MAC failure (ERR 0), identity not owned or not authorised (ERR 7),
//	                            invalid, tampered or expired ticket (ERR 0, 14, 15)
//	409 Conflict                timestamp outside the window, or replay (ERR 1)
//	413 Content Too Large       body over the limit (no MIKEY body: the message was not read)
//	415 Unsupported Media Type  Content-Type is not application/mikey
//	429 Too Many Requests       per-identity or per-source rate limit (Retry-After)
//	500 Internal Server Error   store failure (ERR 12)
//	502 Bad Gateway             the BSF could not be asked over Zn (ERR 12)
//	503 Service Unavailable     too many requests in progress (Retry-After)
func statusFor(n mikey.ErrNo, afterMAC bool) int {
	switch n {
	case mikey.ErrAuthFailure, mikey.ErrInvalidID:
		return http.StatusForbidden
	case mikey.ErrInvalidTS:
		return http.StatusConflict
	case mikey.ErrInvalidTICKET, mikey.ErrInvalidTPpar:
		if afterMAC {
			return http.StatusForbidden
		}
	}
	return http.StatusBadRequest
}
