package keymgmt

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSDESWithoutTLS refuses SDES keys over signalling that is not TLS when the policy does not
// allow it (Policy.AllowSDESWithoutTLS; RFC 4568 §8.3).
var ErrSDESWithoutTLS = errors.New("SDES keys over signalling without TLS not allowed by the security policy (RFC 4568 §8.3: anyone on the path would read them)")

// SIP Warning codes (RFC 3261 §20.43) for a refused offer.
const (
	WarnAttributeNotUnderstood = 306
	WarnMiscellaneous          = 399
)

// StatusNotAcceptableHere is the SIP status for an offer whose key management or security
// policy fails (RFC 4567 §3.1.1, RFC 4568 §7.1.2).
const StatusNotAcceptableHere = 488

// Error is a refused offer or answer: the SIP status and Warning to send, and why.
// It never holds key material.
type Error struct {
	Status   int // 488
	WarnCode int // 399 or 306
	Text     string
	Err      error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("keymgmt: %s: %v", e.Text, e.Err)
	}
	return "keymgmt: " + e.Text
}

func (e *Error) Unwrap() error { return e.Err }

// Warning is the Warning header value (RFC 3261 §20.43: warn-code SP warn-agent SP
// quoted warn-text); quotes and backslashes are escaped and control characters dropped.
func (e *Error) Warning(agent string) string {
	text := e.Text
	if e.Err != nil {
		text += ": " + e.Err.Error()
	}
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
		if b.Len() > 200 {
			break
		}
	}
	if agent == "" {
		agent = "-"
	}
	return fmt.Sprintf("%d %s \"%s\"", e.WarnCode, agent, b.String())
}

func refuse(code int, err error, format string, args ...any) *Error {
	return &Error{Status: StatusNotAcceptableHere, WarnCode: code, Text: fmt.Sprintf(format, args...), Err: err}
}
