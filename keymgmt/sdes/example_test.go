package sdes_test

import (
	"crypto/rand"
	"fmt"

	"github.com/imsphone/imsphone/keymgmt/sdes"
)

// An offerer and an answerer agree on SRTP keys through a=crypto lines.
func Example() {
	alice := sdes.Policy{Suites: []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}}
	bob := sdes.Policy{Suites: []string{"AES_CM_128_HMAC_SHA1_32"}}

	offer, err := sdes.NewOffer(rand.Reader, alice)
	if err != nil {
		panic(err)
	}
	answer, bobKeys, err := sdes.Answer(rand.Reader, bob, offer.Attributes())
	if err != nil {
		panic(err) // in a UA: 488 with the error text in a Warning
	}
	aliceKeys, err := sdes.AcceptAnswer(alice, offer, answer.Marshal())
	if err != nil {
		panic(err)
	}
	fmt.Println(aliceKeys.Tag, aliceKeys.Suite.Name, aliceKeys.Send.Profile == bobKeys.Receive.Profile)
	fmt.Println(answer) // String redacts the key
	// Output:
	// 2 AES_CM_128_HMAC_SHA1_32 true
	// 2 AES_CM_128_HMAC_SHA1_32 inline:[redacted]
}
