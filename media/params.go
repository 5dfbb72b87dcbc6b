package media

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/srtp/v2"
)

// SRTPParams is one direction's SRTP cryptographic context parameters (RFC 3711 §3.2): the
// master key and salt, the optional MKI (§3.1), the initial rollover counter (§3.3.1) and
// whether SRTP and SRTCP payloads are encrypted. SRTCP is authenticated whatever
// EncryptSRTCP says (§3.4: authentication of SRTCP is mandatory).
//
// The key material never appears in String, GoString or LogValue output.
type SRTPParams struct {
	Profile    srtp.ProtectionProfile
	MasterKey  []byte
	MasterSalt []byte
	// MKI is the Master Key Identifier carried in every packet (RFC 3711 §3.1). Empty means
	// no MKI; a rekey without gap needs one (RFC 3711 §8.1).
	MKI []byte
	// ROC is the rollover counter to start from for this direction's SSRC (RFC 3711 §3.3.1);
	// key management conveys it when a stream joins late (e.g. RFC 6043 §6.1, RFC 4568 §6.4).
	ROC          uint32
	EncryptSRTP  bool
	EncryptSRTCP bool
}

// Profile names as registered for SDES (RFC 4568 §6.2, RFC 6188 §7.1, RFC 7714 §14.2) and used
// by MIKEY policy mappings.
var profileNames = [...]struct {
	name    string
	profile srtp.ProtectionProfile
}{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32},
	{"AES_256_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes256CmHmacSha1_80},
	{"AES_256_CM_HMAC_SHA1_32", srtp.ProtectionProfileAes256CmHmacSha1_32},
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
	{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
}

// ProfileByName maps an SDES crypto-suite name to the pion protection profile.
func ProfileByName(name string) (srtp.ProtectionProfile, error) {
	for _, p := range profileNames {
		if strings.EqualFold(p.name, name) {
			return p.profile, nil
		}
	}
	return 0, fmt.Errorf("media: unsupported SRTP crypto suite %q", name)
}

// ProfileName is the SDES crypto-suite name of a supported profile, or "" if unsupported.
func ProfileName(p srtp.ProtectionProfile) string {
	for _, e := range profileNames {
		if e.profile == p {
			return e.name
		}
	}
	return ""
}

// Profiles lists the supported protection profiles.
func Profiles() []srtp.ProtectionProfile {
	out := make([]srtp.ProtectionProfile, 0, len(profileNames))
	for _, p := range profileNames {
		out = append(out, p.profile)
	}
	return out
}

// maxMKILen bounds the MKI; RFC 3711 leaves its length to key management, MIKEY carries it in one
// octet of the SP payload and SDES in up to 3 decimal digits of bytes (RFC 4568 §6.1: 1..128).
const maxMKILen = 128

// Validate checks that the profile is supported and the key, salt and MKI lengths fit it.
func (p SRTPParams) Validate() error {
	if ProfileName(p.Profile) == "" {
		return fmt.Errorf("media: SRTP profile %#04x: %w", uint16(p.Profile), errUnsupportedProfile)
	}
	keyLen, err := p.Profile.KeyLen()
	if err != nil {
		return fmt.Errorf("media: SRTP profile %s: %w", ProfileName(p.Profile), err)
	}
	saltLen, err := p.Profile.SaltLen()
	if err != nil {
		return fmt.Errorf("media: SRTP profile %s: %w", ProfileName(p.Profile), err)
	}
	if len(p.MasterKey) != keyLen {
		return fmt.Errorf("media: %s master key is %d bytes, want %d", ProfileName(p.Profile), len(p.MasterKey), keyLen)
	}
	if len(p.MasterSalt) != saltLen {
		return fmt.Errorf("media: %s master salt is %d bytes, want %d", ProfileName(p.Profile), len(p.MasterSalt), saltLen)
	}
	if len(p.MKI) > maxMKILen {
		return fmt.Errorf("media: MKI is %d bytes, at most %d", len(p.MKI), maxMKILen)
	}
	return nil
}

var errUnsupportedProfile = errors.New("unsupported protection profile")

// String describes the parameters with the key and salt redacted.
func (p SRTPParams) String() string {
	return fmt.Sprintf("SRTPParams{profile=%s mki=%s roc=%d encrypt_srtp=%t encrypt_srtcp=%t key=[%d bytes redacted] salt=[%d bytes redacted]}",
		ProfileName(p.Profile), hex.EncodeToString(p.MKI), p.ROC, p.EncryptSRTP, p.EncryptSRTCP, len(p.MasterKey), len(p.MasterSalt))
}

// GoString keeps %#v from printing the key.
func (p SRTPParams) GoString() string { return p.String() }

// LogValue keeps slog from printing the key.
func (p SRTPParams) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("profile", ProfileName(p.Profile)),
		slog.String("mki", hex.EncodeToString(p.MKI)),
		slog.Uint64("roc", uint64(p.ROC)),
		slog.Bool("encrypt_srtp", p.EncryptSRTP),
		slog.Bool("encrypt_srtcp", p.EncryptSRTCP),
		slog.String("master_key", "[redacted]"),
		slog.String("master_salt", "[redacted]"),
	)
}

func (p SRTPParams) clone() SRTPParams {
	c := p
	c.MasterKey = append([]byte(nil), p.MasterKey...)
	c.MasterSalt = append([]byte(nil), p.MasterSalt...)
	c.MKI = append([]byte(nil), p.MKI...)
	return c
}
