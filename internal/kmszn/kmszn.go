// Package kmszn adapts the GBA Zn client (gba/zn, TS 33.220 §4.5.3) to the KMS's own ZnResolver
// interface (keymgmt/kms), so that keymgmt and gba need not import each other (DESIGN.md):
// NAF_Id = KMS FQDN ‖ 01 00 00 00 06, the Ua security protocol of TS 33.328 (TS 33.220 H.3), and
// zn.ErrUnknownBTID becomes kms.ErrUnknownBTID.
package kmszn

import (
	"context"
	"errors"
	"fmt"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/keymgmt/kms"
)

// Resolver is a kms.ZnResolver backed by a zn.Resolver (typically a zn.Cache over an
// HTTPResolver, which keeps keys until their expiry).
type Resolver struct {
	Zn zn.Resolver
}

// Resolve implements kms.ZnResolver.
func (r Resolver) Resolve(ctx context.Context, btid, nafFQDN string) (kms.ZnKey, error) {
	id := gba.NAFID{FQDN: nafFQDN, UaSecProtID: gba.UaSecProtIDKMS()}
	k, err := r.Zn.Resolve(ctx, btid, id)
	if errors.Is(err, zn.ErrUnknownBTID) {
		return kms.ZnKey{}, fmt.Errorf("%w (%v)", kms.ErrUnknownBTID, err)
	}
	if err != nil {
		return kms.ZnKey{}, err
	}
	return kms.ZnKey{Key: k.Key, Expiry: k.Expiry, IMPI: k.IMPI}, nil
}

// New returns a resolver over a caching Zn HTTP client.
func New(cfg zn.ClientConfig, cache zn.CacheConfig) (Resolver, error) {
	h, err := zn.NewHTTPResolver(cfg)
	if err != nil {
		return Resolver{}, err
	}
	return Resolver{Zn: zn.NewCache(h, cache)}, nil
}
