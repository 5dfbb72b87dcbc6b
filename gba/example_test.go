package gba_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// Deriving the KMS key from a bootstrap (TS 33.220 B.3, NAF_Id = FQDN ‖ 01 00 00 00 06), with the
// inputs of TS 35.208 set 1 (Ks = CK ‖ IK) as in /work/shared/specs/gba.md §9.2.
func ExampleDeriveKsNAF() {
	ck, _ := hex.DecodeString("b40ba9a3c58b2a05bbf0d987b21bf8cb")
	ik, _ := hex.DecodeString("f769bcd751044604127672711c6d3441")
	rand, _ := hex.DecodeString("23553cbe9637a89d218ae64dae47bf35")
	ks := append(ck, ik...)
	kms := gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()}
	ksNAF := gba.DeriveKsNAF(ks, rand, "user1_private@home1.net", kms)
	fmt.Println(gba.BTID(rand, "bsf.home1.net"))
	fmt.Println(base64.StdEncoding.EncodeToString(ksNAF))
	// Output:
	// I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net
	// dOuGcr7MCxnsy4byeAz7AXgJfohzlEeYqwltaec1GGI=
}

// Parsing a Ub challenge and splitting its AKA nonce (RFC 3310 §3.2).
func ExampleParseChallenge() {
	ch, err := gba.ParseChallenge(`Digest realm="bsf.home1.net", nonce="I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=", algorithm=AKAv1-MD5, qop="auth-int"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	rand, autn, _, err := gba.SplitAKANonce(ch.Nonce)
	fmt.Println(ch.Realm, ch.Algorithm, ch.QOP, err)
	fmt.Printf("RAND %x\nAUTN %x\n", rand, autn)
	// Output:
	// bsf.home1.net AKAv1-MD5 [auth-int] <nil>
	// RAND 23553cbe9637a89d218ae64dae47bf35
	// AUTN 55f328b43577b9b94a9ffac354dfafb3
}

// Wiring a UE: software USIM, Ub client, and the NAF key cache whose Key method is the key
// provider of the KMS client.
func ExampleNAFKeys() {
	k, _ := hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
	opc, _ := hex.DecodeString("cd63cb71954a9f4e48a5994e37a02baf")
	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: "user1_private@home1.net", K: k, OPc: opc})
	if err != nil {
		fmt.Println(err)
		return
	}
	ub := &gba.UbClient{BSFURL: "http://bsf.home1.net/", USIM: usim, Realm: "bsf.home1.net",
		HTTPClient: &http.Client{Timeout: 10 * time.Second}}
	keys, _ := gba.NewNAFKeys(gba.NAFKeysConfig{Bootstrapper: ub, Margin: time.Minute})
	defer keys.Close()
	var provider func(ctx context.Context, nafFQDN string) (btid string, key []byte, err error) = keys.Key
	_ = provider // hand to the KMS client; it calls keys.Invalidate(btid) when the KMS does not know the B-TID
	fmt.Println(usim)
	// Output:
	// SoftUSIM{IMPI:user1_private@home1.net, K:[redacted], OPc:[redacted]}
}
