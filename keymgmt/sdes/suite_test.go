package sdes

import (
	"testing"

	"github.com/pion/srtp/v2"
)

// The suite table must agree with pion/srtp/v2's own profile lengths (a second source).
func TestSuiteTableMatchesPion(t *testing.T) {
	usable := 0
	for _, s := range Suites() {
		if !s.Usable {
			if _, ok := SuiteForProfile(s.Profile); ok && s.Profile != 0 {
				t.Errorf("%s: unusable suite has a profile", s.Name)
			}
			continue
		}
		usable++
		p := s.Profile
		kl, err1 := p.KeyLen()
		sl, err2 := p.SaltLen()
		if err1 != nil || err2 != nil || kl != s.KeyLen || sl != s.SaltLen {
			t.Errorf("%s: key/salt %d/%d, pion %d/%d (%v %v)", s.Name, s.KeyLen, s.SaltLen, kl, sl, err1, err2)
		}
		var rtpTag, rtcpTag int
		if p == srtp.ProtectionProfileAeadAes128Gcm || p == srtp.ProtectionProfileAeadAes256Gcm {
			rtpTag, _ = p.AEADAuthTagLen()
			rtcpTag = rtpTag
		} else {
			rtpTag, _ = p.AuthTagRTPLen()
			rtcpTag, _ = p.AuthTagRTCPLen()
		}
		if rtpTag != s.SRTPTagLen || rtcpTag != s.SRTCPTagLen {
			t.Errorf("%s: tags %d/%d, pion %d/%d", s.Name, s.SRTPTagLen, s.SRTCPTagLen, rtpTag, rtcpTag)
		}
		if back, ok := SuiteForProfile(p); !ok || back.Name != s.Name {
			t.Errorf("%s: SuiteForProfile gives %s", s.Name, back.Name)
		}
		if _, err := srtp.CreateContext(make([]byte, s.KeyLen), make([]byte, s.SaltLen), p); err != nil {
			t.Errorf("%s: pion refuses: %v", s.Name, err)
		}
	}
	if usable != 6 {
		t.Fatalf("%d usable suites, want 6", usable)
	}
}

func TestLookupSuiteAliases(t *testing.T) {
	for in, want := range map[string]string{
		"AES_CM_256_HMAC_SHA1_80": "AES_256_CM_HMAC_SHA1_80",
		"AES_CM_256_HMAC_SHA1_32": "AES_256_CM_HMAC_SHA1_32",
		"aes_cm_128_hmac_sha1_80": "AES_CM_128_HMAC_SHA1_80",
		"AES_192_CM_HMAC_SHA1_80": "AES_192_CM_HMAC_SHA1_80",
		"AEAD_AES_256_GCM":        "AEAD_AES_256_GCM",
		"F8_128_HMAC_SHA1_80":     "F8_128_HMAC_SHA1_80",
	} {
		s, ok := LookupSuite(in)
		if !ok || s.Name != want {
			t.Errorf("LookupSuite(%q) = %q, %v", in, s.Name, ok)
		}
	}
	if s, _ := LookupSuite("AES_192_CM_HMAC_SHA1_32"); s.Usable || s.KeySaltLen() != 38 {
		t.Errorf("AES-192: %+v", s)
	}
	if _, ok := LookupSuite("AES_CM_128_HMAC_SHA1_81"); ok {
		t.Error("found a suite that does not exist")
	}
}
