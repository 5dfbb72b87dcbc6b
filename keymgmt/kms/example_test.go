package kms_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// A KMS and two UEs in one process: alice requests a ticket for bob, bob resolves it. The Zn
// lookup is a stand-in here (cmd/kms wires gba/zn through internal/kmszn), and so are the UEs' key
// providers (gba.NAFKeys.Key in a real UE).
func Example() {
	now := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ksNAF := map[string][]byte{"YWxpY2U=@bsf.home1.net": bytes.Repeat([]byte{1}, 32), "Ym9i@bsf.home1.net": bytes.Repeat([]byte{2}, 32)}
	impi := map[string]string{"YWxpY2U=@bsf.home1.net": "alice@home1.net", "Ym9i@bsf.home1.net": "bob1@home1.net"}
	zn := kms.ZnResolverFunc(func(_ context.Context, btid, _ string) (kms.ZnKey, error) {
		if k, ok := ksNAF[btid]; ok {
			return kms.ZnKey{Key: k, IMPI: impi[btid], Expiry: now.Add(time.Hour)}, nil
		}
		return kms.ZnKey{}, kms.ErrUnknownBTID
	})
	st := store.NewMemory()
	st.PutUser(context.Background(), store.User{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}})
	st.PutUser(context.Background(), store.User{IMPI: "bob1@home1.net", IMPUs: []string{"sip:bob@home1.net"}})
	pol, _ := policy.Parse([]byte(testPolicy))
	srv, err := kms.New(context.Background(), kms.Config{FQDN: "kms.home1.net"},
		kms.Options{Store: st, Policy: policy.NewEngine("", pol), Zn: zn, Now: clock})
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	now = now.Add(mikey.DefaultSkew + time.Second) // a new replay cache vouches for messages after its start + skew

	provider := func(btid string) kms.KeyProvider {
		return func(context.Context, string) (string, []byte, error) { return btid, ksNAF[btid], nil }
	}
	ue := func(btid string) *kms.Client {
		c, _ := kms.NewClient(kms.ClientConfig{URLs: []string{hs.URL + kms.DefaultPath}, FQDN: "kms.home1.net",
			Keys: provider(btid), Now: clock})
		return c
	}
	alice, bob := ue("YWxpY2U=@bsf.home1.net"), ue("Ym9i@bsf.home1.net")

	tk, err := alice.RequestTicket(context.Background(), kms.TicketRequest{
		Initiator:  &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:alice@home1.net")},
		Responders: []*mikey.IDR{{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:bob@home1.net")}},
		Flags:      mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH | mikey.FlagJ,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("granted:", tk.Resp.Ticket.Policy.Flags)
	res, err := bob.ResolveTicket(context.Background(), &mikey.IDR{Role: mikey.IDRoleR, Type: mikey.IDTypeURI,
		Data: []byte("sip:bob@home1.net")}, tk.Resp.Ticket)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same TGK:", bytes.Equal(res.Resp.Keys.Keys[0].Key, tk.Resp.Keys.Keys[0].Key))
	fmt.Println(res.Resp.Keys)

	_, err = ue("bm9ib2R5@bsf.home1.net").RequestTicket(context.Background(), kms.TicketRequest{
		Initiator:  &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:alice@home1.net")},
		Responders: []*mikey.IDR{{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:bob@home1.net")}},
		Flags:      mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH,
	})
	fmt.Println(err != nil)
	// Output:
	// granted: DEF-H-J-----
	// same TGK: true
	// TicketKeys{MPKi: [32 bytes redacted], MPKr: [0 bytes redacted], 1 session keys}
	// true
}
