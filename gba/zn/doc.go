// Package zn is the NAF side of the GBA Zn reference point: it fetches Ks_NAF for a B-TID from a
// BSF, for the KMS (a NAF in the sense of TS 33.220 and TS 33.328).
//
// Zn semantics follow TS 33.220 §4.5.3: the NAF sends B-TID and NAF_Id (and the GBA_U-aware flag);
// the BSF derives Ks_(ext)_NAF with the NAF_Id it received and returns it with the key expiry time,
// the bootstrapping creation time and the IMPI. An unknown or expired B-TID means the UE has to
// bootstrap again (TS 33.220 §4.5.3, TS 24.109 §5.2.4); this package reports it as ErrUnknownBTID.
//
// The wire format is modelled on the 5G SBA Zn, Nbsp_GBA (TS 29.309), operation
// BootstrappingInfoRetrieval: POST {apiRoot}/nbsp-gba/v1/bootstrapping-info-retrieval with a JSON
// BootstrappingInfoRequest, answered by a BootstrappingInfoResponse or a TS 29.571 ProblemDetails
// (RFC 7807, application/problem+json). The field names are those of the TS 29.309 OpenAPI
// description (v1.0.0-alpha.1); the path and field names may differ in later versions of the
// specification, which this package does not claim to follow byte for byte. Zn is protected with
// TLS (TS 33.220 §4.4.7 / TS 29.109 Annex E); the caller authenticates with a bearer token or a
// client certificate.
//
// Resolver is the small interface the KMS consumes (through an adapter: keymgmt never imports gba).
// HTTPResolver implements it over HTTP and Cache keeps keys until their expiry.
package zn
