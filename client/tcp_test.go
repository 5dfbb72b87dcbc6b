package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
)

// A UE on TCP registers with IMS AKA at the lab core (which serves UDP and TCP on one port)
// and calls a UE registered over UDP: the INVITE goes over TCP with the Service-Route
// preloaded, the core routes it to the callee, and the call is answered and hung up.
func TestTCPRegisterAndCallThroughLab(t *testing.T) {
	core := newLabCore(t, nil)
	ue1, err := NewPhone(Config{User: "ue1", AOR: "sip:ue1@home1.net", OutboundProxy: core.addr, Transport: "tcp"})
	if err != nil {
		t.Fatal(err)
	}
	defer ue1.Close()
	alice, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net", OutboundProxy: core.addr,
		AutoAnswer: &CallOptions{}, Security: keymgmt.Policy{Mode: keymgmt.ModeNone}})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	ctx := context.Background()
	r1, err := ue1.Register(ctx, RegisterOptions{Registrar: "sip:home1.net", USIM: softUSIM(t, set1K)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Register(ctx, RegisterOptions{Registrar: "sip:home1.net", Username: "alice@home1.net", Password: "alice-secret"}); err != nil {
		t.Fatal(err)
	}
	b := core.srv.Location().Lookup("sip:ue1@home1.net")
	if len(b) != 1 || !strings.EqualFold(b[0].Transport, "tcp") {
		t.Fatalf("ue1 bindings %+v, want one over TCP", b)
	}
	if tp, _ := b[0].Contact.Address.UriParams.Get("transport"); tp != "tcp" {
		t.Fatalf("ue1 Contact %s without transport=tcp", b[0].Contact.Address.String())
	}
	if len(r1.ServiceRoute()) != 1 {
		t.Fatalf("Service-Route %q", r1.ServiceRoute())
	}
	c, err := ue1.Dial(ctx, "sip:alice@home1.net", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, EventAnswered, 5*time.Second)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Hangup(hctx); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, c); e.By != Local {
		t.Fatalf("ended %v", e)
	}
}
