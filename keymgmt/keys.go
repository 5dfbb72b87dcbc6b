package keymgmt

import (
	"fmt"
	"log/slog"

	"github.com/pion/srtp/v2"
)

// SRTP is one direction's SRTP cryptographic context parameters (RFC 3711 §3.2).
type SRTP struct {
	Profile    srtp.ProtectionProfile
	MasterKey  []byte
	MasterSalt []byte
	MKI        []byte // RFC 3711 §3.1; nil when none
	ROC        uint32 // initial rollover counter (RFC 3711 §3.3.1)
	// SSRC is the stream's SSRC when key management binds one (MIKEY CS ID map); 0 if unknown.
	SSRC         uint32
	EncryptSRTP  bool
	EncryptSRTCP bool
}

func (s SRTP) String() string {
	return fmt.Sprintf("profile=%d key=[redacted %d] salt=[redacted %d] mki=%x roc=%d ssrc=%#x encSRTP=%t encSRTCP=%t",
		s.Profile, len(s.MasterKey), len(s.MasterSalt), s.MKI, s.ROC, s.SSRC, s.EncryptSRTP, s.EncryptSRTCP)
}

// GoString keeps %#v from printing the key.
func (s SRTP) GoString() string { return s.String() }

// LogValue keeps slog from printing the key.
func (s SRTP) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Keys is the outcome of key management for one protected stream.
type Keys struct {
	// Method is the key source: "sdes" or "mikey".
	Method string
	// Suite is the crypto suite name (RFC 4568 §6.2, RFC 6188, RFC 7714).
	Suite string
	// Send protects what we send; Recv checks what the peer sends.
	Send, Recv SRTP
	// E2AE reports the 3GPP e2ae mode (a=3ge2ae).
	E2AE bool

	// local and peer are the active key lines each side sent: a re-offer that keeps the keys
	// repeats them (RFC 4568 §7.1.4; see Negotiator.Reoffer).
	local, peer Lines
}

func (k *Keys) String() string {
	if k == nil {
		return "none"
	}
	return fmt.Sprintf("method=%s suite=%s send={%s} recv={%s} e2ae=%t", k.Method, k.Suite, k.Send, k.Recv, k.E2AE)
}

// GoString keeps %#v from printing keys.
func (k *Keys) GoString() string { return k.String() }

// LogValue keeps slog from printing keys.
func (k *Keys) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("none")
	}
	return slog.GroupValue(slog.String("method", k.Method), slog.String("suite", k.Suite), slog.Bool("e2ae", k.E2AE))
}
