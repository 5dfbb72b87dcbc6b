package zn

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// RetrievalPath is the Nbsp_GBA BootstrappingInfoRetrieval custom operation (TS 29.309), below the
// API root.
const RetrievalPath = "/nbsp-gba/v1/bootstrapping-info-retrieval"

// Media types of Nbsp_GBA bodies (TS 29.501 §4.4, TS 29.571 ProblemDetails per RFC 7807).
const (
	ContentTypeJSON    = "application/json"
	ContentTypeProblem = "application/problem+json"
)

// GBAType3G is the TS 29.309 GbaType value for GBA over 3G AKA (Ks = CK ‖ IK).
const GBAType3G = "3G_GBA"

// CauseBTIDNotFound is the ProblemDetails cause this project's BSF sends for an unknown or expired
// B-TID (the Diameter Zn equivalent is DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID, 5403).
// TS 29.309 names no application cause for it; the value is this project's choice.
const CauseBTIDNotFound = "BTID_NOT_FOUND"

// NafID is the TS 29.309 NafId: the NAF FQDN and the 5-octet Ua security protocol identifier
// (TS 33.220 Annex H) as 10 hex digits.
type NafID struct {
	NafFqdn     string `json:"nafFqdn"`
	UaSecProtID string `json:"uaSecProtId"`
}

// BootstrappingInfoRequest is the TS 29.309 BootstrappingInfoRequest (Zn request, TS 33.220 §4.5.3).
type BootstrappingInfoRequest struct {
	BtID      string   `json:"btId"`
	NafID     NafID    `json:"nafId"`
	GbaUAware bool     `json:"gbaUAware,omitempty"`
	GsIDs     []uint32 `json:"gsIds,omitempty"`
}

// BootstrappingInfoResponse is the TS 29.309 BootstrappingInfoResponse. MeKeyMaterial is
// Ks_(ext)_NAF as 64 hex digits; times are RFC 3339 (TS 29.571 DateTime).
type BootstrappingInfoResponse struct {
	MeKeyMaterial                 string `json:"meKeyMaterial"`
	UiccKeyMaterial               string `json:"uiccKeyMaterial,omitempty"`
	KeyExpiryTime                 string `json:"keyExpiryTime,omitempty"`
	BootstrappingInfoCreationTime string `json:"bootstrappingInfoCreationTime,omitempty"`
	GbaType                       string `json:"gbaType,omitempty"`
	Impi                          string `json:"impi,omitempty"`
}

// String redacts the key material: a response must never reach a log with Ks_NAF in it.
func (r BootstrappingInfoResponse) String() string {
	return fmt.Sprintf("BootstrappingInfoResponse{meKeyMaterial:[redacted] keyExpiryTime:%s gbaType:%s impi:%s}",
		r.KeyExpiryTime, r.GbaType, r.Impi)
}

// ProblemDetails is the TS 29.571 ProblemDetails (RFC 7807) subset this Zn uses.
type ProblemDetails struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title,omitempty"`
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
	Cause  string `json:"cause,omitempty"`
}

// NafIDFrom converts a NAF_Id to its TS 29.309 JSON form.
func NafIDFrom(n gba.NAFID) NafID {
	return NafID{NafFqdn: n.FQDN, UaSecProtID: hex.EncodeToString(n.UaSecProtID[:])}
}

// NAFID converts the JSON NafId back to a NAF_Id, checking the TS 29.309 pattern ^[A-Fa-f0-9]{10}$.
func (n NafID) NAFID() (gba.NAFID, error) {
	var out gba.NAFID
	if n.NafFqdn == "" {
		return out, errors.New("nafId.nafFqdn: empty")
	}
	if len(n.NafFqdn) > 253 {
		return out, fmt.Errorf("nafId.nafFqdn: %d octets, longer than an FQDN (253)", len(n.NafFqdn))
	}
	if strings.ContainsAny(n.NafFqdn, " \t\r\n/@") {
		return out, fmt.Errorf("nafId.nafFqdn %q: not an FQDN", n.NafFqdn)
	}
	if len(n.UaSecProtID) != 10 {
		return out, fmt.Errorf("nafId.uaSecProtId: %d characters, want 10 hex digits", len(n.UaSecProtID))
	}
	if _, err := hex.Decode(out.UaSecProtID[:], []byte(n.UaSecProtID)); err != nil {
		return out, fmt.Errorf("nafId.uaSecProtId %q: %w", n.UaSecProtID, err)
	}
	out.FQDN = n.NafFqdn
	return out, nil
}

// ParseBootstrappingInfoRequest decodes and checks a request body (one JSON object, nothing after
// it; unknown members are ignored as OpenAPI allows).
func ParseBootstrappingInfoRequest(body []byte) (*BootstrappingInfoRequest, gba.NAFID, error) {
	var req BootstrappingInfoRequest
	if err := decodeOne(body, &req); err != nil {
		return nil, gba.NAFID{}, fmt.Errorf("BootstrappingInfoRequest: %w", err)
	}
	if req.BtID == "" {
		return nil, gba.NAFID{}, errors.New("BootstrappingInfoRequest: btId missing or empty")
	}
	naf, err := req.NafID.NAFID()
	if err != nil {
		return nil, gba.NAFID{}, fmt.Errorf("BootstrappingInfoRequest: %w", err)
	}
	return &req, naf, nil
}

// ParseBootstrappingInfoResponse decodes a response body and returns the key it carries.
func ParseBootstrappingInfoResponse(body []byte) (*NAFKey, error) {
	var resp BootstrappingInfoResponse
	if err := decodeOne(body, &resp); err != nil {
		return nil, fmt.Errorf("BootstrappingInfoResponse: %w", err)
	}
	if len(resp.MeKeyMaterial) != 64 {
		return nil, fmt.Errorf("BootstrappingInfoResponse: meKeyMaterial has %d characters, want 64 hex digits",
			len(resp.MeKeyMaterial))
	}
	key, err := hex.DecodeString(resp.MeKeyMaterial)
	if err != nil {
		// The hex error quotes the offending byte, which is key material: keep only the offset-free text.
		return nil, errors.New("BootstrappingInfoResponse: meKeyMaterial is not hex")
	}
	if resp.KeyExpiryTime == "" {
		// Without an expiry the NAF cannot bound the key's use (TS 33.220 §4.5.3 requires it in Zn).
		return nil, errors.New("BootstrappingInfoResponse: keyExpiryTime missing")
	}
	exp, err := time.Parse(time.RFC3339, resp.KeyExpiryTime)
	if err != nil {
		return nil, fmt.Errorf("BootstrappingInfoResponse: keyExpiryTime: %w", err)
	}
	if resp.GbaType != "" && resp.GbaType != GBAType3G {
		return nil, fmt.Errorf("BootstrappingInfoResponse: gbaType %q not supported (want %s)", resp.GbaType, GBAType3G)
	}
	return &NAFKey{Key: key, Expiry: exp, IMPI: resp.Impi}, nil
}

// ParseProblemDetails decodes an RFC 7807 body.
func ParseProblemDetails(body []byte) (*ProblemDetails, error) {
	var p ProblemDetails
	if err := decodeOne(body, &p); err != nil {
		return nil, fmt.Errorf("ProblemDetails: %w", err)
	}
	return &p, nil
}

func decodeOne(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("JSON syntax at offset %d: %w", se.Offset, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %q at offset %d: %s where %s was expected", te.Field, te.Offset, te.Value, te.Type)
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON object at offset %d", dec.InputOffset())
	}
	return nil
}
