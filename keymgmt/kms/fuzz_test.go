package kms_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// FuzzHandle feeds arbitrary bodies to the KMS (no HTTP, memory store, a Zn stand-in that knows
// every B-TID): it must never panic, answer 200 only with REQUEST_RESP or RESOLVE_RESP, and
// answer every other parsed message with a MIKEY Error.
func FuzzHandle(f *testing.F) {
	clk := &clock{t: time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)}
	psk := make([]byte, 32)
	zn := kms.ZnResolverFunc(func(_ context.Context, btid, _ string) (kms.ZnKey, error) {
		impi := "alice@home1.net"
		if btid == "bob" {
			impi = "bob1@home1.net"
		}
		return kms.ZnKey{Key: psk, IMPI: impi, Expiry: clk.Now().Add(time.Hour)}, nil
	})
	p, err := policy.Parse([]byte(testPolicy))
	if err != nil {
		f.Fatal(err)
	}
	st := store.NewMemory()
	for _, u := range users {
		st.PutUser(context.Background(), u)
	}
	srv, err := kms.New(context.Background(), kms.Config{FQDN: kmsFQDN, Skew: time.Hour, IdentityRate: -1, SourceRate: -1},
		kms.Options{Store: st, Policy: policy.NewEngine("", p), Zn: zn, Now: clk.Now, Rand: newRand(50)})
	if err != nil {
		f.Fatal(err)
	}
	clk.Add(time.Hour + time.Second)
	t, _ := mikey.NewTNTPUTC(clk.Now())
	rnd := newRand(51)
	req, _, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: mikey.PRFHMACSHA256, T: t, IDRi: idr(mikey.IDRoleI, "sip:alice@home1.net"),
		IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte("alice")}, MACAlg: mikey.MACHMACSHA256256, Rand: rnd,
		TP: desiredTP(baseFlags|mikey.FlagI, "sip:alice@home1.net", "sip:bob@home1.net")}, psk)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req.Raw)
	_, body, _ := srv.Handle(context.Background(), req.Raw, "seed")
	if m, err := mikey.ParseMessage(body); err == nil {
		if rr, err := mikey.VerifyRequestResp(m, req, psk); err == nil {
			res, _, err := mikey.BuildResolveInitPSK(mikey.ResolveInitParams{PRF: mikey.PRFHMACSHA256, T: t, IDRr: idr(mikey.IDRoleR, "sip:bob@home1.net"),
				IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte("bob")}, Ticket: rr.Ticket, MACAlg: mikey.MACHMACSHA256256, Rand: rnd}, psk)
			if err == nil {
				f.Add(res.Raw)
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1, 11, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, body, ev := srv.Handle(context.Background(), b, "fuzz")
		m, err := mikey.ParseMessage(body)
		if err != nil {
			t.Fatalf("status %d: answer does not parse: %v", st, err)
		}
		switch {
		case st == http.StatusOK && (m.HDR.DataType == mikey.DataTypeRequestResp || m.HDR.DataType == mikey.DataTypeResolveResp) && ev.Granted:
		case st != http.StatusOK && m.HDR.DataType == mikey.DataTypeError && !ev.Granted:
		default:
			t.Fatalf("status %d with data type %d, granted %v", st, m.HDR.DataType, ev.Granted)
		}
	})
}
