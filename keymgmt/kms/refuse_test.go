package kms_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// post sends raw bytes to the KMS.
func post(t *testing.T, url string, body []byte, ctype string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	must(t, err, "POST")
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err, "read")
	return resp.StatusCode, b, resp.Header
}

// errorAnswer decodes a MIKEY Error answer and reports its ERR numbers and whether it has a V.
func errorAnswer(t *testing.T, body []byte) ([]mikey.ErrNo, bool) {
	t.Helper()
	m, err := mikey.ParseMessage(body)
	must(t, err, "parse Error")
	em, err := mikey.VerifyError(m, nil, nil)
	must(t, err, "Error")
	return em.ErrNos, m.V() != nil
}

func checkAudit(t *testing.T, e *env, action string, status int, errNo mikey.ErrNo) kms.AuditEvent {
	t.Helper()
	ev := e.lastAudit()
	if ev.Granted || ev.Action != action || ev.Status != status || ev.ErrNo != int(errNo) || ev.Reason == "" {
		t.Fatalf("audit %+v, want refused %s, status %d, ERR %d, with a reason", ev, action, status, errNo)
	}
	return ev
}

// A reusable ticket (J) serves two calls within its validity and is refused after TRe.
func TestReuseAndExpiry(t *testing.T) {
	e := newEnv(t, envCfg{})
	alice, bob := e.ue("alice@home1.net"), e.ue("bob1@home1.net")
	tk, err := alice.kc.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags | mikey.FlagJ, Validity: 10 * time.Minute})
	must(t, err, "RequestTicket")
	if !tk.Resp.Ticket.Policy.Flags.Has(mikey.FlagJ) {
		t.Fatalf("J not granted: %v", tk.Resp.Ticket.Policy.Flags)
	}
	for i := 1; i <= 2; i++ {
		e.clk.Add(time.Minute)
		o := transferInit(t, e, alice, tk, "sip:bob@home1.net")
		a, err := answerCall(t, e, bob, o)
		must(t, err, "call %d", i)
		if !sameSRTP(callerKeys(t, o, a), a.srtp) {
			t.Fatalf("call %d: keys differ", i)
		}
		if ev := e.lastAudit(); ev.Uses != uint64(i) {
			t.Fatalf("call %d: uses %d", i, ev.Uses)
		}
	}
	e.clk.Add(9 * time.Minute) // past TRe
	_, err = answerCall(t, e, bob, transferInit(t, e, alice, tk, "sip:bob@home1.net"))
	ke := kmsErr(t, err)
	if ke.Status != http.StatusForbidden || !ke.Has(mikey.ErrInvalidTPpar) || !ke.Authenticated {
		t.Fatalf("expired ticket: %v", ke)
	}
	checkAudit(t, e, "resolve", http.StatusForbidden, mikey.ErrInvalidTPpar)
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, envCfg{noRate: true})
	ctx := context.Background()
	alice, bob, mallory := e.ue("alice@home1.net"), e.ue("bob1@home1.net"), e.ue("mallory@home1.net")
	toBob := []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}

	t.Run("wrong MAC", func(t *testing.T) {
		c := e.client([]string{e.url}, func(ctx context.Context, fqdn string) (string, []byte, error) {
			btid, key, err := alice.keys.Key(ctx, fqdn)
			key[0] ^= 1
			return btid, key, err
		}, nil)
		_, err := c.RequestTicket(ctx, kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu), Responders: toBob, Flags: baseFlags})
		ke := kmsErr(t, err)
		if ke.Status != http.StatusForbidden || !ke.Has(mikey.ErrAuthFailure) || ke.Authenticated {
			t.Fatalf("got %v", ke)
		}
		checkAudit(t, e, "request", http.StatusForbidden, mikey.ErrAuthFailure)
	})

	t.Run("unknown B-TID, bootstrap again once", func(t *testing.T) {
		calls := 0
		var invalidated []string
		c := e.client([]string{e.url}, func(ctx context.Context, fqdn string) (string, []byte, error) {
			calls++
			if calls == 1 {
				return "c3RhbGU=@" + bsfDomain, make([]byte, 32), nil
			}
			return alice.keys.Key(ctx, fqdn)
		}, func(b string) { invalidated = append(invalidated, b) })
		tk, err := c.RequestTicket(ctx, kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu), Responders: toBob, Flags: baseFlags})
		must(t, err, "request after re-bootstrap")
		if tk == nil || calls != 2 || len(invalidated) != 1 || invalidated[0] != "c3RhbGU=@"+bsfDomain {
			t.Fatalf("calls %d, invalidated %q", calls, invalidated)
		}
		// Always unknown: one retry, then ErrBootstrap.
		c = e.client([]string{e.url}, func(context.Context, string) (string, []byte, error) {
			return "c3RhbGU=@" + bsfDomain, make([]byte, 32), nil
		}, nil)
		_, err = c.RequestTicket(ctx, kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu), Responders: toBob, Flags: baseFlags})
		if !errors.Is(err, kms.ErrBootstrap) {
			t.Fatalf("got %v", err)
		}
		ke := kmsErr(t, err)
		if ke.Status != http.StatusUnauthorized || !ke.Has(mikey.ErrAuthFailure) {
			t.Fatalf("got %v", ke)
		}
		checkAudit(t, e, "request", http.StatusUnauthorized, mikey.ErrAuthFailure)
		// The 401 carries the NAF's bootstrapping challenge (TS 24.109 §5.2.4).
		m, _, _ := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: mikey.PRFHMACSHA256, T: tNow(e), MACAlg: mikey.MACHMACSHA256256,
			IDRi: idr(mikey.IDRoleI, alice.impu), IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte("eA==@" + bsfDomain)},
			TP: desiredTP(baseFlags, alice.impu, "sip:bob@home1.net"), Rand: newRand(20)}, make([]byte, 32))
		st, _, h := post(t, e.url, m.Raw, kms.ContentType)
		if st != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "3GPP-bootstrapping") {
			t.Fatalf("status %d, WWW-Authenticate %q", st, h.Get("WWW-Authenticate"))
		}
	})

	t.Run("IMPU not owned by the B-TID", func(t *testing.T) {
		_, err := alice.kc.RequestTicket(ctx, kms.TicketRequest{Initiator: idr(mikey.IDRoleI, "sip:bob@home1.net"), Responders: toBob, Flags: baseFlags})
		ke := kmsErr(t, err)
		if ke.Status != http.StatusForbidden || !ke.Has(mikey.ErrInvalidID) || !ke.Authenticated {
			t.Fatalf("got %v", ke)
		}
		checkAudit(t, e, "request", http.StatusForbidden, mikey.ErrInvalidID)
	})

	tk := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	o := transferInit(t, e, alice, tk, "sip:bob@home1.net")

	t.Run("resolver not in IDRr", func(t *testing.T) {
		_, err := answerCall(t, e, mallory, o)
		ke := kmsErr(t, err)
		if ke.Status != http.StatusForbidden || !ke.Has(mikey.ErrInvalidID) || !ke.Authenticated {
			t.Fatalf("got %v", ke)
		}
		ev := checkAudit(t, e, "resolve", http.StatusForbidden, mikey.ErrInvalidID)
		if !strings.Contains(ev.Reason, "not a responder the ticket names") {
			t.Fatalf("reason %q", ev.Reason)
		}
	})

	t.Run("resolver claims an IMPU it does not own", func(t *testing.T) {
		_, err := mallory.kc.ResolveTicket(ctx, idr(mikey.IDRoleR, "sip:bob@home1.net"), o.trInit.TICKET())
		ke := kmsErr(t, err)
		if ke.Status != http.StatusForbidden || !ke.Has(mikey.ErrInvalidID) {
			t.Fatalf("got %v", ke)
		}
		ev := checkAudit(t, e, "resolve", http.StatusForbidden, mikey.ErrInvalidID)
		if !strings.Contains(ev.Reason, "not a public identity") {
			t.Fatalf("reason %q", ev.Reason)
		}
	})

	t.Run("tampered ticket over HTTP", func(t *testing.T) {
		bad := *o.trInit.TICKET()
		bad.TicketData = bytes.Clone(bad.TicketData)
		bad.TicketData[len(bad.TicketData)/2] ^= 0x10
		_, err := bob.kc.ResolveTicket(ctx, idr(mikey.IDRoleR, bob.impu), &bad)
		ke := kmsErr(t, err)
		if ke.Status != http.StatusForbidden || !ke.Authenticated || len(ke.ErrNos) != 1 {
			t.Fatalf("got %v", ke)
		}
		checkAudit(t, e, "resolve", http.StatusForbidden, ke.ErrNos[0])
	})

	t.Run("replayed REQUEST_INIT", func(t *testing.T) {
		tk := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
		st, body, _ := post(t, e.url, tk.Request.Raw, kms.ContentType)
		errs, macd := errorAnswer(t, body)
		if st != http.StatusConflict || len(errs) != 1 || errs[0] != mikey.ErrInvalidTS || !macd {
			t.Fatalf("status %d, ERR %v, MAC'd %v", st, errs, macd)
		}
		if ev := checkAudit(t, e, "request", http.StatusConflict, mikey.ErrInvalidTS); !strings.Contains(ev.Reason, "replayed") {
			t.Fatalf("refused for %q", ev.Reason)
		}
	})

	t.Run("replayed RESOLVE_INIT", func(t *testing.T) {
		a, err := answerCall(t, e, bob, o)
		must(t, err, "resolve")
		st, body, _ := post(t, e.url, a.res.Request.Raw, kms.ContentType)
		errs, macd := errorAnswer(t, body)
		if st != http.StatusConflict || len(errs) != 1 || errs[0] != mikey.ErrInvalidTS || !macd {
			t.Fatalf("status %d, ERR %v, MAC'd %v", st, errs, macd)
		}
		if ev := checkAudit(t, e, "resolve", http.StatusConflict, mikey.ErrInvalidTS); !strings.Contains(ev.Reason, "replayed") {
			t.Fatalf("refused for %q", ev.Reason)
		}
	})

	t.Run("inconsistent TP flags", func(t *testing.T) {
		btid, key, err := alice.keys.Key(ctx, kmsFQDN)
		must(t, err, "key")
		idi := idr(mikey.IDRoleI, alice.impu)
		m, keys, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: mikey.PRFHMACSHA256, T: tNow(e), IDRi: idi,
			IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte(btid)}, MACAlg: mikey.MACHMACSHA256256, Rand: newRand(21),
			TP: desiredTP(baseFlags, alice.impu, "sip:bob@home1.net")}, key)
		must(t, err, "build")
		// I without E, and G without F (RFC 6043 §6.10), sealed with a valid MAC.
		m.TP().Flags = mikey.FlagD | mikey.FlagG | mikey.FlagH | mikey.FlagI
		raw := reseal(t, m, keys.Auth, idi.Data)
		st, body, _ := post(t, e.url, raw, kms.ContentType)
		errs, macd := errorAnswer(t, body)
		if st != http.StatusBadRequest || len(errs) != 1 || errs[0] != mikey.ErrInvalidTPpar || !macd {
			t.Fatalf("status %d, ERR %v, MAC'd %v", st, errs, macd)
		}
		checkAudit(t, e, "request", http.StatusBadRequest, mikey.ErrInvalidTPpar)
	})

	t.Run("oversize body", func(t *testing.T) {
		st, _, _ := post(t, e.url, make([]byte, 9<<10), kms.ContentType)
		if st != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", st)
		}
		if ev := e.lastAudit(); ev.Granted || ev.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("audit %+v", ev)
		}
	})

	t.Run("wrong content type and method", func(t *testing.T) {
		if st, _, _ := post(t, e.url, tk.Request.Raw, "application/octet-stream"); st != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d", st)
		}
		resp, err := http.Get(e.url)
		must(t, err, "GET")
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET status %d", resp.StatusCode)
		}
	})

	t.Run("garbage", func(t *testing.T) {
		st, body, _ := post(t, e.url, []byte{1, 2, 3}, kms.ContentType)
		errs, macd := errorAnswer(t, body)
		if st != http.StatusBadRequest || len(errs) != 1 || macd {
			t.Fatalf("status %d, ERR %v, MAC'd %v", st, errs, macd)
		}
	})
}

// Every single-bit change of the Ticket Data, and changes of the Ticket Policy the ticket MAC
// covers (validity end, responder, reuse flag), makes the KMS refuse the ticket.
func TestTamperedTicketEveryBit(t *testing.T) {
	e := newEnv(t, envCfg{noRate: true})
	ctx := context.Background()
	alice, bob := e.ue("alice@home1.net"), e.ue("bob1@home1.net")
	tk := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	btid, key, err := bob.keys.Key(ctx, kmsFQDN)
	must(t, err, "key")
	rnd := newRand(30)
	try := func(tkt *mikey.TICKET) (int, kms.AuditEvent) {
		m, _, err := mikey.BuildResolveInitPSK(mikey.ResolveInitParams{PRF: mikey.PRFHMACSHA256, T: tNow(e),
			IDRr: idr(mikey.IDRoleR, bob.impu), IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte(btid)},
			Ticket: tkt, MACAlg: mikey.MACHMACSHA256256, Rand: rnd}, key)
		must(t, err, "build")
		st, _, ev := e.srv.Handle(ctx, m.Raw, "test")
		return st, ev
	}
	if st, _ := try(tk.Resp.Ticket); st != http.StatusOK {
		t.Fatalf("untouched ticket: %d", st)
	}
	n := 0
	for i := range tk.Resp.Ticket.TicketData {
		for b := range 8 {
			bad := *tk.Resp.Ticket
			bad.TicketData = bytes.Clone(bad.TicketData)
			bad.TicketData[i] ^= 1 << b
			if st, ev := try(&bad); st != http.StatusForbidden || ev.Granted {
				t.Fatalf("Ticket Data byte %d bit %d: status %d", i, b, st)
			}
			n++
		}
	}
	policyEdits := map[string]func(*mikey.TP){
		"TRe +1": func(p *mikey.TP) { p.TR(mikey.TSRoleE).Value++ },
		"IDRr":   func(p *mikey.TP) { p.IDRs(mikey.IDRoleR)[0].Data = []byte("sip:bob@home1.nes") },
		"J":      func(p *mikey.TP) { p.Flags ^= mikey.FlagJ },
	}
	for name, edit := range policyEdits {
		// Encode and parse again for a deep copy of the ticket.
		raw, err := (&mikey.Message{HDR: mikey.HDR{Version: 1, DataType: mikey.DataTypeRequestResp, CSIDMapType: mikey.CSIDMapEmpty},
			Payloads: []mikey.Payload{tk.Resp.Ticket}}).Marshal()
		must(t, err, "marshal")
		cp, err := mikey.ParseMessage(raw)
		must(t, err, "reparse")
		bad := cp.TICKET()
		edit(&bad.Policy)
		if st, ev := try(bad); st != http.StatusForbidden || ev.Granted {
			t.Fatalf("%s: status %d", name, st)
		}
		n++
	}
	t.Logf("%d tampered tickets refused", n)
}

// After a restart over the same bbolt file a ticket issued before still resolves (the ticket keys
// persist), and a RESOLVE_INIT seen before the restart is still a replay. The callee's client
// fails over from the dead address of the old KMS to the new one.
func TestRestartBetweenRequestAndResolve(t *testing.T) {
	e := newEnv(t, envCfg{bolt: true})
	alice, bob1, bob2 := e.ue("alice@home1.net"), e.ue("bob1@home1.net"), e.ue("bob2@home1.net")
	oldURL := e.url
	tk := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	o := transferInit(t, e, alice, tk, "sip:bob@home1.net")
	a1, err := answerCall(t, e, bob1, o)
	must(t, err, "resolve before restart")

	e.restart()
	if e.url == oldURL {
		t.Fatal("restart kept the address")
	}
	st, body, _ := post(t, e.url, a1.res.Request.Raw, kms.ContentType)
	if errs, _ := errorAnswer(t, body); st != http.StatusConflict || errs[0] != mikey.ErrInvalidTS {
		t.Fatalf("replay after restart: status %d, ERR %v", st, errs)
	}
	if ev := checkAudit(t, e, "resolve", http.StatusConflict, mikey.ErrInvalidTS); !strings.Contains(ev.Reason, "replayed") {
		t.Fatalf("refused for %q, want the replay cache", ev.Reason)
	}

	e.clk.Add(time.Second)
	bob2.kc = e.client([]string{oldURL, e.url}, bob2.keys.Key, bob2.keys.Invalidate)
	a2, err := answerCall(t, e, bob2, o)
	must(t, err, "resolve after restart, with failover")
	if !bytes.Equal(a2.res.Resp.Keys.MPKi, tk.Resp.Keys.MPKi) || !sameSRTP(callerKeys(t, o, a2), a2.srtp) {
		t.Fatal("keys after restart differ")
	}
}

// A fresh replay cache cannot vouch for messages timestamped before its start (plus the skew).
func TestRefuseBeforeEpoch(t *testing.T) {
	e := newEnv(t, envCfg{skipNow: true})
	alice := e.ue("alice@home1.net")
	_, err := alice.kc.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags})
	ke := kmsErr(t, err)
	if ke.Status != http.StatusConflict || !ke.Has(mikey.ErrInvalidTS) {
		t.Fatalf("got %v", ke)
	}
	e.clk.Add(testSkew + time.Second)
	requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
}

// Too many requests from one identity: 429 with Retry-After and a MIKEY Error, until the bucket
// refills on the KMS clock.
func TestIdentityRateLimit(t *testing.T) {
	e := newEnv(t, envCfg{cfg: kms.Config{IdentityRate: 1, IdentityBurst: 3}})
	alice := e.ue("alice@home1.net")
	for range 3 {
		requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	}
	_, err := alice.kc.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu),
		Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags})
	ke := kmsErr(t, err)
	if ke.Status != http.StatusTooManyRequests || !ke.Has(mikey.ErrUnspecified) {
		t.Fatalf("got %v", ke)
	}
	if ev := checkAudit(t, e, "request", http.StatusTooManyRequests, mikey.ErrUnspecified); ev.Reason != "identity rate limit" || ev.BTID == "" {
		t.Fatalf("audit %+v", ev)
	}
	e.clk.Add(time.Second)
	requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
}

func tNow(e *env) *mikey.T {
	t, err := mikey.NewTNTPUTC(e.clk.Now())
	if err != nil {
		panic(err)
	}
	return t
}

func desiredTP(flags mikey.TicketFlags, from, to string) *mikey.TP {
	return &mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: mikey.PRFHMACSHA256, Flags: flags,
		Data: []mikey.Payload{idr(mikey.IDRoleI, from), idr(mikey.IDRoleR, to)}}
}

// reseal re-encodes a modified REQUEST_INIT_PSK and computes its MAC again (RFC 6043 Table 5.2:
// message ‖ Identity_i ‖ Identity_kms), so that the KMS sees a well-authenticated message.
func reseal(t *testing.T, m *mikey.Message, auth, idi []byte) []byte {
	t.Helper()
	m.Raw = nil
	raw, err := m.Marshal()
	must(t, err, "marshal")
	in, err := m.MACInput(false)
	must(t, err, "MAC input")
	mac, err := mikey.ComputeMAC(m.V().MACAlg, auth, in, idi, nil)
	must(t, err, "MAC")
	copy(raw[len(raw)-len(mac):], mac)
	return raw
}

// A UE that holds on to a B-TID past its key lifetime: the BSF no longer knows it over Zn, the KMS
// answers 401, and the client bootstraps again (through gba.NAFKeys) and succeeds.
func TestExpiredBTIDBootstrapAgain(t *testing.T) {
	e := newEnv(t, envCfg{})
	alice := e.ue("alice@home1.net")
	var stale struct {
		btid string
		key  []byte
	}
	c := e.client([]string{e.url}, func(ctx context.Context, fqdn string) (string, []byte, error) {
		if stale.btid != "" {
			return stale.btid, stale.key, nil
		}
		return alice.keys.Key(ctx, fqdn)
	}, func(b string) {
		if b == stale.btid {
			stale.btid = ""
		}
		alice.keys.Invalidate(b)
	})
	btid, key, err := alice.keys.Key(context.Background(), kmsFQDN)
	must(t, err, "bootstrap")
	stale.btid, stale.key = btid, key
	req := kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu), Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags}
	_, err = c.RequestTicket(context.Background(), req)
	must(t, err, "request with a fresh B-TID")
	e.clk.Add(2*time.Hour + time.Minute) // past the BSF's key lifetime
	stale.btid, stale.key = btid, key
	_, err = c.RequestTicket(context.Background(), req)
	must(t, err, "request after the re-bootstrap")
	if nb, _, _ := alice.keys.Current(); nb == btid {
		t.Fatal("no new bootstrap")
	}
	var sawExpired bool
	e.mu.Lock()
	for _, ev := range e.audits {
		if ev.Status == http.StatusUnauthorized && ev.BTID == btid {
			sawExpired = true
		}
	}
	e.mu.Unlock()
	if !sawExpired {
		t.Fatal("no 401 audit record for the expired B-TID")
	}
}
