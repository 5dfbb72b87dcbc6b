package keymgmt

import (
	"fmt"

	"github.com/imsphone/imsphone/keymgmt/sdes"
)

// Mode is the media security an account uses.
type Mode string

// Modes.
const (
	ModeNone Mode = "none" // plain RTP
	ModeSDES Mode = "sdes" // RFC 4568 a=crypto
	ModeKMS  Mode = "kms"  // MIKEY-TICKET via a KMS (RFC 6043, TS 33.328)
)

// Requirement says whether the mode is a must.
type Requirement string

// Requirements.
const (
	// Preferred: offer the mode; as answerer also accept a weaker one (kms → sdes → none).
	Preferred Requirement = "preferred"
	// Mandatory: refuse (488) any offer or answer that does not use the mode.
	Mandatory Requirement = "mandatory"
)

// Policy is one account's media security policy.
type Policy struct {
	Mode        Mode
	Requirement Requirement
	// SDES is what the SDES method offers and accepts (suites in preference order, MKI, ...).
	SDES sdes.Policy
	// E2AE adds a=3ge2ae:requested to SDES offers (TS 33.328 e2ae, towards a P-CSCF).
	E2AE bool
	// AllowSDESWithoutTLS lets SDES keys (a=crypto, e2ae included) travel in SDP over
	// signalling that is not TLS (Stream.SecureSignalling false). RFC 4568 §8.3: the master key
	// is in the clear in the SDP, so the signalling must be encrypted (TLS hop by hop, or
	// S/MIME); over UDP or TCP anyone on the path reads it and decrypts the call. TS 33.328 e2ae
	// relies on the IPsec security association of the Gm interface (TS 33.203), which we do not
	// set up, so it counts as SDES here. Off by default: a lab or interop session has to ask for
	// it. MIKEY-TICKET needs no such permission: its keys are encrypted and MACed inside MIKEY.
	AllowSDESWithoutTLS bool
}

// ParsePolicy reads a mode and a requirement as written in configuration.
func ParsePolicy(mode, requirement string) (Policy, error) {
	p := Policy{Mode: Mode(mode), Requirement: Requirement(requirement)}
	if p.Requirement == "" {
		p.Requirement = Preferred
	}
	return p, p.validate()
}

func (p Policy) validate() error {
	switch p.Mode {
	case ModeNone, ModeSDES, ModeKMS:
	default:
		return fmt.Errorf("keymgmt: policy mode %q, want none, sdes or kms", p.Mode)
	}
	switch p.Requirement {
	case Preferred, Mandatory:
	default:
		return fmt.Errorf("keymgmt: policy requirement %q, want mandatory or preferred", p.Requirement)
	}
	return nil
}

func (p Policy) String() string { return string(p.Mode) + "/" + string(p.Requirement) }
