package kms_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

const baseFlags = mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH

// A call end to end over HTTP on loopback with the real test BSF: alice requests a ticket, bob
// resolves it, both derive the same SRTP keys and a packet protected by one opens at the other.
func TestCallEndToEnd(t *testing.T) {
	e := newEnv(t, envCfg{bolt: true})
	alice, bob := e.ue("alice@home1.net"), e.ue("bob1@home1.net")
	tk := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	if ev := e.lastAudit(); !ev.Granted || ev.Action != "request" || ev.IMPI != "alice@home1.net" || ev.Policy == nil {
		t.Fatalf("request audit: %+v", ev)
	}
	if f := tk.Resp.Ticket.Policy.Flags; f.Has(mikey.FlagK) || f != baseFlags {
		t.Fatalf("granted flags %v, want %v without K", f, baseFlags)
	}
	o := transferInit(t, e, alice, tk, "sip:bob@home1.net")
	a, err := answerCall(t, e, bob, o)
	must(t, err, "answer")
	if ev := e.lastAudit(); !ev.Granted || ev.Action != "resolve" || ev.IMPI != "bob1@home1.net" || ev.Uses != 0 {
		t.Fatalf("resolve audit: %+v", ev)
	}
	ck := callerKeys(t, o, a)
	if !sameSRTP(ck, a.srtp) {
		t.Fatal("caller and callee SRTP keys differ")
	}
	srtpRoundTrip(t, ck[0], a.srtp[0])

	// The audit log has both decisions and no key material.
	logs := e.logs.String()
	if strings.Count(logs, `"msg":"audit"`) != 2 || !strings.Contains(logs, `"granted":true`) {
		t.Fatalf("audit log:\n%s", logs)
	}
	_, ksNAF, _ := bob.keys.Key(context.Background(), kmsFQDN)
	for _, secret := range [][]byte{ksNAF, tk.Resp.Keys.MPKi, tk.Resp.Keys.Keys[0].Key, ck[0].MasterKey} {
		if strings.Contains(logs, hex.EncodeToString(secret)) || strings.Contains(logs, base64.StdEncoding.EncodeToString(secret)) {
			t.Fatal("key material in the log")
		}
	}
}

// Forking (I): two devices of sip:bob resolve the same TRANSFER_INIT and get distinct keys; the
// caller derives each device's keys from its TRANSFER_RESP.
func TestForkingTwoDevices(t *testing.T) {
	e := newEnv(t, envCfg{})
	alice := e.ue("alice@home1.net")
	bob1, bob2 := e.ue("bob1@home1.net"), e.ue("bob2@home1.net")
	tk := requestTicket(t, alice, baseFlags|mikey.FlagI, "sip:bob@home1.net")
	if !tk.Resp.Ticket.Policy.Flags.Has(mikey.FlagI) {
		t.Fatalf("forking not granted: %v", tk.Resp.Ticket.Policy.Flags)
	}
	o := transferInit(t, e, alice, tk, "sip:bob@home1.net")
	a1, err := answerCall(t, e, bob1, o)
	must(t, err, "bob1")
	a2, err := answerCall(t, e, bob2, o)
	must(t, err, "bob2")
	if bytes.Equal(a1.res.Resp.Keys.Keys[0].Key, a2.res.Resp.Keys.Keys[0].Key) || bytes.Equal(a1.res.Resp.RANDRkms, a2.res.Resp.RANDRkms) {
		t.Fatal("forked devices got the same TGK' or RANDRkms")
	}
	if bytes.Equal(a1.res.Resp.Keys.Keys[0].Key, tk.Resp.Keys.Keys[0].Key) {
		t.Fatal("TGK' equals the unforked TGK")
	}
	c1, c2 := callerKeys(t, o, a1), callerKeys(t, o, a2)
	if !sameSRTP(c1, a1.srtp) || !sameSRTP(c2, a2.srtp) {
		t.Fatal("caller's keys for a device differ from the device's")
	}
	if sameSRTP(a1.srtp, a2.srtp) {
		t.Fatal("two forked devices share SRTP keys")
	}
	srtpRoundTrip(t, c2[0], a2.srtp[0])
	// Without J the ticket serves this one session: a second TRANSFER_INIT (new Initiator Data) is
	// a reuse the KMS refuses.
	o2 := transferInit(t, e, alice, tk, "sip:bob@home1.net")
	_, err = answerCall(t, e, bob1, o2)
	ke := kmsErr(t, err)
	if ke.Status != http.StatusForbidden || !ke.Has(mikey.ErrInvalidTICKET) || !ke.Authenticated {
		t.Fatalf("reuse without J: %v", ke)
	}
	if ev := e.lastAudit(); ev.Granted || ev.Reason == "" {
		t.Fatalf("audit: %+v", ev)
	}
}
