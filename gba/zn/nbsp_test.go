package zn

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
)

func TestParseBootstrappingInfoRequest(t *testing.T) {
	good := `{"btId":"I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net","nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"},"gbaUAware":false,"extra":1}`
	req, naf, err := ParseBootstrappingInfoRequest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if req.BtID != "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net" || naf.FQDN != "kms.home1.net" ||
		naf.UaSecProtID != [5]byte{1, 0, 0, 0, 6} {
		t.Fatalf("got %+v %+v", req, naf)
	}
	bad := map[string]string{
		"empty":         ``,
		"not json":      `btId=x`,
		"array":         `[]`,
		"no btId":       `{"nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"}}`,
		"no nafId":      `{"btId":"x@y"}`,
		"short ua":      `{"btId":"x@y","nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"01000000"}}`,
		"non-hex ua":    `{"btId":"x@y","nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"01000000zz"}}`,
		"space in fqdn": `{"btId":"x@y","nafId":{"nafFqdn":"kms home1.net","uaSecProtId":"0100000006"}}`,
		"btId number":   `{"btId":5,"nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"}}`,
		"trailing":      good + `{}`,
		"truncated":     good[:40],
	}
	for name, in := range bad {
		if _, _, err := ParseBootstrappingInfoRequest([]byte(in)); err == nil {
			t.Errorf("%s: accepted %q", name, in)
		} else if !strings.Contains(err.Error(), "BootstrappingInfoRequest") {
			t.Errorf("%s: error without context: %v", name, err)
		}
	}
}

func TestParseBootstrappingInfoResponse(t *testing.T) {
	// Ks_NAF of spec digest §9.2 (self-generated there, recomputed in package gba's tests).
	const ks = "74eb8672becc0b19eccb86f2780cfb0178097e8873944798ab096d69e7351862"
	good := `{"meKeyMaterial":"` + ks + `","keyExpiryTime":"2030-01-01T00:00:00Z","bootstrappingInfoCreationTime":"2029-12-31T12:00:00Z","gbaType":"3G_GBA","impi":"user1_private@home1.net"}`
	k, err := ParseBootstrappingInfoResponse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Key) != 32 || k.Key[0] != 0x74 || k.Key[31] != 0x62 || k.IMPI != "user1_private@home1.net" ||
		!k.Expiry.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %v", k)
	}
	bad := map[string]string{
		"short key":  `{"meKeyMaterial":"74eb","keyExpiryTime":"2030-01-01T00:00:00Z"}`,
		"hex":        `{"meKeyMaterial":"` + strings.Repeat("g", 64) + `","keyExpiryTime":"2030-01-01T00:00:00Z"}`,
		"no expiry":  `{"meKeyMaterial":"` + ks + `"}`,
		"bad expiry": `{"meKeyMaterial":"` + ks + `","keyExpiryTime":"tomorrow"}`,
		"2G":         `{"meKeyMaterial":"` + ks + `","keyExpiryTime":"2030-01-01T00:00:00Z","gbaType":"2G_GBA"}`,
		"null":       `null`,
	}
	for name, in := range bad {
		_, err := ParseBootstrappingInfoResponse([]byte(in))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "gggg") || strings.Contains(err.Error(), "74eb") {
			t.Errorf("%s: error quotes key material: %v", name, err)
		}
	}
}

func TestNafIDRoundTrip(t *testing.T) {
	n := gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: [5]byte{1, 0, 0, 0, 6}}
	j := NafIDFrom(n)
	if j.UaSecProtID != "0100000006" {
		t.Fatalf("uaSecProtId %q", j.UaSecProtID)
	}
	back, err := j.NAFID()
	if err != nil || back != n {
		t.Fatalf("round trip: %v %v", back, err)
	}
}

func TestResponseStringRedacts(t *testing.T) {
	r := BootstrappingInfoResponse{MeKeyMaterial: strings.Repeat("ab", 32), Impi: "u@h"}
	if strings.Contains(r.String(), "abab") {
		t.Fatal(r.String())
	}
}

func FuzzParseBootstrappingInfoRequest(f *testing.F) {
	f.Add([]byte(`{"btId":"I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net","nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"},"gbaUAware":true}`))
	f.Add([]byte(`{"btId":"","nafId":{}}`))
	f.Add([]byte(`{"btId":"x","nafId":{"nafFqdn":"a","uaSecProtId":"ffffffffff"},"gsIds":[1,2]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, naf, err := ParseBootstrappingInfoRequest(data)
		if err != nil {
			return
		}
		// Re-encoding and parsing again must give the same request.
		again, err := json.Marshal(BootstrappingInfoRequest{BtID: req.BtID, NafID: NafIDFrom(naf), GbaUAware: req.GbaUAware})
		if err != nil {
			t.Fatal(err)
		}
		req2, naf2, err := ParseBootstrappingInfoRequest(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if req2.BtID != req.BtID || naf2 != naf || req2.GbaUAware != req.GbaUAware {
			t.Fatalf("mismatch: %+v %+v vs %+v %+v", req, naf, req2, naf2)
		}
	})
}

func FuzzParseBootstrappingInfoResponse(f *testing.F) {
	f.Add([]byte(`{"meKeyMaterial":"74eb8672becc0b19eccb86f2780cfb0178097e8873944798ab096d69e7351862","keyExpiryTime":"2030-01-01T00:00:00Z","gbaType":"3G_GBA","impi":"u@h"}`))
	f.Add([]byte(`{"meKeyMaterial":"","keyExpiryTime":""}`))
	f.Add([]byte(`{"type":"x","status":404,"cause":"BTID_NOT_FOUND"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseBootstrappingInfoResponse(data)
		if err != nil {
			return
		}
		if len(k.Key) != 32 {
			t.Fatalf("key of %d octets accepted", len(k.Key))
		}
		_, _ = ParseProblemDetails(data)
	})
}
