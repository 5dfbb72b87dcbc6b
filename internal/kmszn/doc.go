// Package kmszn adapts the GBA Zn client (gba/zn, TS 33.220 §4.5.3) to the KMS's own ZnResolver
// interface (keymgmt/kms), so that keymgmt and gba need not import each other (DESIGN.md):
// NAF_Id = KMS FQDN ‖ 01 00 00 00 06, the Ua security protocol of TS 33.328 (TS 33.220 H.3), and
// zn.ErrUnknownBTID becomes kms.ErrUnknownBTID.
package kmszn
