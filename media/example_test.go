package media_test

import (
	"fmt"
	"time"

	"github.com/imsphone/imsphone/media"
)

// SRTP parameters print without their key material.
func ExampleSRTPParams_String() {
	profile, err := media.ProfileByName("AES_CM_128_HMAC_SHA1_80")
	if err != nil {
		panic(err)
	}
	p := media.SRTPParams{
		Profile:     profile,
		MasterKey:   make([]byte, 16),
		MasterSalt:  make([]byte, 14),
		MKI:         []byte{0, 1},
		ROC:         3,
		EncryptSRTP: true, EncryptSRTCP: true,
	}
	fmt.Println(p.Validate())
	fmt.Println(p)
	// Output:
	// <nil>
	// SRTPParams{profile=AES_CM_128_HMAC_SHA1_80 mki=0001 roc=3 encrypt_srtp=true encrypt_srtcp=true key=[16 bytes redacted] salt=[14 bytes redacted]}
}

// The E-model estimate for G.711 with 2 % random loss concealed by PLC and 100 ms one-way delay.
func ExampleEModel() {
	e := media.EModel{OneWayDelay: 100 * time.Millisecond, PacketLoss: 0.02, Ie: media.G711Ie, Bpl: media.G711WithPLCBpl, BurstR: 1}
	r := e.R()
	fmt.Printf("R=%.1f MOS=%.2f\n", r, media.MOS(r))
	// Ie,eff = 95·2/(2+25.1) = 7.01, Id = 0.024·100 = 2.4: R = 93.2 − 2.4 − 7.01.
	// Output: R=83.8 MOS=4.16
}
