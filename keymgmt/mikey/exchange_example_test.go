package mikey_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// The Ticket Request exchange of RFC 6043 §4.2.1 between a UE and the KMS, keyed with a GBA NAF key
// (a fixed stand-in here) and named by the B-TID in IDRpsk.
func Example_ticketRequest() {
	ksNAF := make([]byte, 32) // Ks_NAF of the UE for the KMS
	rnd := rand.NewChaCha8([32]byte{1})
	now := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	t, _ := mikey.NewTNTPUTC(now)
	alice := &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:alice@example.com")}
	bob := &mikey.IDR{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:bob@example.com")}
	btid := &mikey.IDR{Role: mikey.IDRolePSK, Type: mikey.IDTypeNAI, Data: []byte("YWxpY2U=@bsf.example.com")}
	flags := mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH

	// UE: REQUEST_INIT_PSK with the desired policy.
	req, _, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{
		PRF: mikey.PRFHMACSHA256, T: t, IDRi: alice, IDRpsk: btid, MACAlg: mikey.MACHMACSHA256256, Rand: rnd,
		TP: &mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: mikey.PRFHMACSHA256,
			Flags: flags, Data: []mikey.Payload{alice, bob}},
	}, ksNAF)
	if err != nil {
		fmt.Println(err)
		return
	}

	// KMS: parse, look up the key by the B-TID, verify, grant.
	m, _ := mikey.ParseMessage(req.Raw)
	fmt.Printf("KMS got data type %d from %s\n", m.HDR.DataType, m.IDR(mikey.IDRolePSK).Data)
	ri, err := mikey.VerifyRequestInitPSK(m, ksNAF)
	if err != nil {
		fmt.Println(err)
		return
	}
	t2, _ := mikey.NewTNTPUTC(now.Add(time.Second))
	resp, _, err := mikey.BuildRequestResp(mikey.RequestRespParams{
		Init: ri, T: t2, EncrAlg: mikey.EncrAESCM128,
		Ticket: &mikey.TICKET{Policy: mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: 1, TicketVersion: 1,
			PRF: mikey.PRFHMACSHA256, Flags: flags, Data: []mikey.Payload{alice, bob}}, TicketData: []byte("...")},
		Keys: mikey.TicketKeys{MPKi: make([]byte, 16), Keys: []mikey.KeyData{
			{Type: mikey.KeyTGK, KV: mikey.KVSPI, Key: make([]byte, 16), SPI: []byte{1}}}},
	}, ksNAF)
	if err != nil {
		fmt.Println(err)
		return
	}

	// UE: verify the response against the request it sent.
	m, _ = mikey.ParseMessage(resp.Raw)
	rr, err := mikey.VerifyRequestResp(m, req, ksNAF)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("UE got ticket type %d, flags %v, %d session key(s)\n", rr.Ticket.Policy.TicketType,
		rr.Ticket.Policy.Flags, len(rr.Keys.Keys))
	fmt.Println(rr.Keys)
	// Output:
	// KMS got data type 11 from YWxpY2U=@bsf.example.com
	// UE got ticket type 1, flags DEF-H-------, 1 session key(s)
	// TicketKeys{MPKi: [16 bytes redacted], MPKr: [0 bytes redacted], 1 session keys}
}
