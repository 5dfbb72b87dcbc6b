package keymgmt_test

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/imsphone/imsphone/keymgmt"
)

// Two accounts with SDES: the offerer's lines go into the offer, the answerer's keys and lines
// come back, and each side ends with the other's send key as its receive key.
func Example() {
	ctx := context.Background()
	alice, _ := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}, Rand: rand.Reader})
	bob, _ := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Preferred}, Rand: rand.Reader})

	offer, _ := alice.Offer(ctx, keymgmt.Stream{SecureSignalling: true})
	answerLines, bobKeys, err := bob.Answer(ctx, offer.Protected, offer.Lines(), keymgmt.Stream{SecureSignalling: true})
	if err != nil {
		panic(err)
	}
	aliceKeys, err := offer.Accept(ctx, true, answerLines, keymgmt.Stream{SecureSignalling: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(aliceKeys.Method, aliceKeys.Suite, string(aliceKeys.Send.MasterKey) == string(bobKeys.Recv.MasterKey))

	// A plain offer to an account that requires SRTP is refused with 488 and a Warning.
	plain, _ := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeNone}})
	po, _ := plain.Offer(ctx, keymgmt.Stream{SecureSignalling: true})
	_, _, err = alice.Answer(ctx, po.Protected, po.Lines(), keymgmt.Stream{SecureSignalling: true})
	if e, ok := err.(*keymgmt.Error); ok {
		fmt.Println(e.Status, e.Warning("ue.example"))
	}
	// Output:
	// sdes AES_CM_128_HMAC_SHA1_80 true
	// 488 399 ue.example "policy sdes/mandatory requires SRTP; offer is RTP/AVP"
}
