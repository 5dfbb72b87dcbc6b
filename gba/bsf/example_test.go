package bsf_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/gba/zn"
)

// An in-process BSF with one subscriber (TS 35.208 test set 1, test keys only): the UE bootstraps
// over Ub, and the KMS fetches the same Ks_NAF over Zn.
func Example() {
	k, _ := hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
	opc, _ := hex.DecodeString("cd63cb71954a9f4e48a5994e37a02baf")
	auc, err := bsf.NewAuC([]bsf.Subscriber{{IMPI: "user1_private@home1.net", K: k, OPc: opc,
		AMF: [2]byte{0x80, 0x00}, SQN: 0x20}}, "" /* SQN_HE in memory only */)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := bsf.New(bsf.Config{Realm: "bsf.home1.net", Domain: "bsf.home1.net", KeyLifetime: time.Hour,
		ZnBearerTokens: []string{"example-zn-token-0123"}}, auc, bsf.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ub, _ := net.Listen("tcp", "127.0.0.1:0")
	znl, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ub, znl) }()

	usim, _ := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: "user1_private@home1.net", K: k, OPc: opc})
	ue := &gba.UbClient{BSFURL: "http://" + ub.Addr().String() + "/", USIM: usim, Realm: "bsf.home1.net"}
	b, err := ue.Bootstrap(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}

	kms := gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()}
	resolver, _ := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: "http://" + znl.Addr().String(),
		BearerToken: "example-zn-token-0123"})
	key, err := resolver.Resolve(ctx, b.BTID, kms)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("KMS and UE hold the same Ks_NAF:", bytes.Equal(key.Key, b.KsNAF(kms)))
	fmt.Println("IMPI:", key.IMPI)

	resolver.CloseIdleConnections()
	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// KMS and UE hold the same Ks_NAF: true
	// IMPI: user1_private@home1.net
	// stopped: <nil>
}
