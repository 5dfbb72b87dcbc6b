package sdes

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/pion/srtp/v2"
)

// MasterKey is one SRTP master key with its salt, MKI and lifetime (RFC 3711 §3.2.1).
type MasterKey struct {
	Key, Salt []byte
	// MKI is the master key identifier as sent in packets; nil when none.
	MKI []byte
	// Lifetime is the maximum number of packets; 0 means the suite default.
	Lifetime uint64
}

// String redacts the key and salt.
func (k MasterKey) String() string {
	return fmt.Sprintf("key=[redacted %d+%d octets] mki=%s lifetime=%d", len(k.Key), len(k.Salt), mkiText(k.MKI), k.Lifetime)
}

// Keys is the SRTP parameter set of one direction as the media layer needs it: a pion
// protection profile, the master key(s) and the encryption flags. SRTCP is always
// authenticated (RFC 3711 §3.4) and this package never negotiates unauthenticated SRTP.
// The rollover counter starts at 0 for every SSRC (RFC 4568 §6.4: no late joiners), so
// there is none to carry. String, GoString and LogValue redact the key material.
type Keys struct {
	Suite   string
	Profile srtp.ProtectionProfile
	MasterKey
	// MoreKeys are further master keys of the same attribute, each with its own MKI
	// (RFC 4568 §6.1); a receiver installs them beside the first (pion: AddCipherForMKI).
	MoreKeys     []MasterKey
	EncryptSRTP  bool
	EncryptSRTCP bool
	// WindowSizeHint is the sender's replay window hint (WSH, RFC 4568 §6.3.6) for the
	// receiver of this direction; 0 when none was given.
	WindowSizeHint uint32
}

func (k Keys) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "suite=%s %s encryptSRTP=%t encryptSRTCP=%t", k.Suite, k.MasterKey, k.EncryptSRTP, k.EncryptSRTCP)
	if len(k.MoreKeys) > 0 {
		fmt.Fprintf(&b, " moreKeys=%d", len(k.MoreKeys))
	}
	if k.WindowSizeHint != 0 {
		fmt.Fprintf(&b, " wsh=%d", k.WindowSizeHint)
	}
	return b.String()
}

// GoString redacts like String.
func (k Keys) GoString() string { return "sdes.Keys{" + k.String() + "}" }

// LogValue logs the parameters without key material.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("suite", k.Suite),
		slog.String("mki", mkiText(k.MKI)),
		slog.Int("keys", 1+len(k.MoreKeys)),
		slog.Bool("encrypt_srtp", k.EncryptSRTP),
		slog.Bool("encrypt_srtcp", k.EncryptSRTCP),
	)
}

func mkiText(mki []byte) string {
	if mki == nil {
		return "none"
	}
	return hex.EncodeToString(mki)
}

// GenerateKeySalt reads a fresh master key||salt for the suite from rand (RFC 4568 §6.1:
// each key cryptographically random and unique in the SDP).
func GenerateKeySalt(rand io.Reader, s Suite) ([]byte, error) {
	if s.KeySaltLen() == 0 {
		return nil, fmt.Errorf("sdes: generate key: unknown suite")
	}
	ks := make([]byte, s.KeySaltLen())
	if _, err := io.ReadFull(rand, ks); err != nil {
		return nil, fmt.Errorf("sdes: generate %s key: %w", s.Name, err)
	}
	return ks, nil
}

// keysFrom builds one direction's Keys from a line's key parameters.
func keysFrom(s Suite, c *Crypto) Keys {
	k := Keys{
		Suite:          s.Name,
		Profile:        s.Profile,
		EncryptSRTP:    !c.UnencryptedSRTP,
		EncryptSRTCP:   !c.UnencryptedSRTCP,
		WindowSizeHint: c.WSH,
	}
	for i, kp := range c.Keys {
		mk := MasterKey{
			Key:      append([]byte(nil), kp.KeySalt[:s.KeyLen]...),
			Salt:     append([]byte(nil), kp.KeySalt[s.KeyLen:]...),
			MKI:      append([]byte(nil), kp.MKI...),
			Lifetime: kp.Lifetime,
		}
		if kp.MKI == nil {
			mk.MKI = nil
		}
		if i == 0 {
			k.MasterKey = mk
		} else {
			k.MoreKeys = append(k.MoreKeys, mk)
		}
	}
	return k
}
