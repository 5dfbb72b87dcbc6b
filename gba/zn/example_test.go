package zn_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

// A KMS resolves the B-TID a UE presented into Ks_NAF for its own NAF_Id, caching keys until they
// expire, and tells the UE to bootstrap again when the BSF no longer knows the B-TID.
func Example() {
	httpZn, err := zn.NewHTTPResolver(zn.ClientConfig{
		BaseURL:     "https://bsf.home1.net:8443",
		BearerToken: "example-zn-token-change-me",
		Timeout:     3 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var resolver zn.Resolver = zn.NewCache(httpZn, zn.CacheConfig{MaxEntries: 10000, Margin: 30 * time.Second})

	kms := gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key, err := resolver.Resolve(ctx, "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net", kms)
	switch {
	case errors.Is(err, zn.ErrUnknownBTID):
		fmt.Println("ask the UE to bootstrap again")
	case err != nil:
		fmt.Println("Zn failed:", err)
	default:
		fmt.Println("Ks_NAF for", key.IMPI, "until", key.Expiry) // key.Key stays out of logs
	}
}
