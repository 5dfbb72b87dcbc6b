package lab_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/imsphone/imsphone/internal/lab"
)

// A lab with one Digest account and one IMS AKA subscriber (TS 35.208 test set 1 keys, test
// use only), the BSF and the KMS. A UE takes SIPAddr as its outbound proxy, RegistrarURI as the
// REGISTER Request-URI and its Account for credentials; NewUE gives an AKA subscriber its USIM,
// GBA keys and KMS client.
func Example() {
	cfg := lab.Config{
		Domain: "home1.net",
		Subscribers: []lab.Subscriber{
			{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}, Password: "alice-secret"},
			{IMPI: "ue1@ims.home1.net", IMPUs: []string{"sip:ue1@home1.net"},
				K: "465b5ce8b199b49faa5f0a2ee238a6bc", OPc: "cd63cb71954a9f4e48a5994e37a02baf"},
		},
		BSF: &lab.BSFConfig{},
	}
	l, err := lab.Start(context.Background(), cfg, lab.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	fmt.Println("registrar:", l.RegistrarURI, "on loopback:", strings.HasPrefix(l.SIPAddr, "127.0.0.1:"))
	fmt.Println("BSF realm:", l.BSFRealm, "Ub and Zn up:", l.UbURL != "" && l.ZnURL != "")
	fmt.Println("KMS:", l.KMSNAFID(), "up:", l.KMSURL != "")
	ue, err := l.NewUE("ue1@ims.home1.net", lab.UEOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ue.Close()
	fmt.Println(ue)
	for _, a := range l.Accounts() {
		fmt.Println(a)
	}
	// Output:
	// registrar: sip:home1.net on loopback: true
	// BSF realm: bsf.home1.net Ub and Zn up: true
	// KMS: kms.home1.net|0100000006 up: true
	// lab.UE{IMPI: "ue1@ims.home1.net", IMPU: "sip:ue1@home1.net"}
	// Account{IMPI: "alice@home1.net", IMPUs: ["sip:alice@home1.net"], AKA: false, Realm: "home1.net", secrets: [redacted]}
	// Account{IMPI: "ue1@ims.home1.net", IMPUs: ["sip:ue1@home1.net"], AKA: true, Realm: "home1.net", secrets: [redacted]}
}
