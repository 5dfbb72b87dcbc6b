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
