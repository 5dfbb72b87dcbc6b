package kms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// UaSecProtIDKMS is the Ua security protocol identifier of the UE-KMS exchanges (TS 33.220 Annex
// H.3): NAF_Id = KMS FQDN ‖ 01 00 00 00 06.
var UaSecProtIDKMS = [5]byte{0x01, 0x00, 0x00, 0x00, 0x06}

// ErrUnknownBTID is what a ZnResolver returns (wrapped) when the BSF does not know the B-TID or
// its key has expired (TS 33.220 §4.5.3): the UE has to bootstrap again.
var ErrUnknownBTID = errors.New("kms: B-TID unknown or expired; bootstrap again")

// ZnKey is what the KMS gets over Zn for a B-TID: Ks_NAF, its expiry and the subscriber's IMPI.
type ZnKey struct {
	Key    []byte
	Expiry time.Time
	IMPI   string
}

// String redacts the key.
func (k ZnKey) String() string {
	return fmt.Sprintf("ZnKey{IMPI:%s Expiry:%s Key:[%d bytes redacted]}", k.IMPI, k.Expiry.UTC().Format(time.RFC3339), len(k.Key))
}

// GoString redacts as String does.
func (k ZnKey) GoString() string { return k.String() }

// LogValue redacts the key.
func (k ZnKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("impi", k.IMPI), slog.Time("expiry", k.Expiry))
}

// ZnResolver fetches Ks_NAF for a B-TID from the BSF (TS 33.220 §4.5.3) for NAF_Id = nafFQDN ‖
// UaSecProtIDKMS. The KMS is a NAF; keymgmt does not import gba, so cmd/kms adapts the gba/zn
// client (with its cache) to this interface. An unknown or expired B-TID must yield an error
// matching ErrUnknownBTID.
type ZnResolver interface {
	Resolve(ctx context.Context, btid, nafFQDN string) (ZnKey, error)
}

// ZnResolverFunc adapts a function to ZnResolver.
type ZnResolverFunc func(ctx context.Context, btid, nafFQDN string) (ZnKey, error)

// Resolve calls f.
func (f ZnResolverFunc) Resolve(ctx context.Context, btid, nafFQDN string) (ZnKey, error) {
	return f(ctx, btid, nafFQDN)
}
