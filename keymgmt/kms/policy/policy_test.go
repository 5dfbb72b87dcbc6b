package policy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustParse(t testing.TB, s string) *Policy {
	t.Helper()
	p, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseExample(t *testing.T) {
	p := mustParse(t, examplePolicy)
	if len(p.Users()) != 4 || len(p.RequestRules()) != 4 || len(p.ResolveRules()) != 2 {
		t.Fatalf("users %d request %d resolve %d", len(p.Users()), len(p.RequestRules()), len(p.ResolveRules()))
	}
	r := p.RequestRules()
	if r[0].MaxValidity != 8*time.Hour || r[0].Features != (Features{Reuse: true}) {
		t.Errorf("defaults not applied: %+v", r[0])
	}
	if r[1].MaxValidity != time.Hour || r[1].Features != (Features{true, true, true, true}) {
		t.Errorf("rule 2: %+v", r[1])
	}
	if r[2].Features != (Features{Forking: true}) {
		t.Errorf("explicit features must replace the defaults: %+v", r[2])
	}
	if len(p.Digest) != 16 {
		t.Errorf("digest %q", p.Digest)
	}
	// The doc comment's example parses too.
	doc := "version: 1\nusers:\n  - impi: alice@ims.example\n    impus: [sip:alice@ims.example, tel:+15551230001]\n    groups: [staff]\ngroups:\n  staff: [\"sip:*@staff.ims.example\"]\ndefaults:\n  max_validity: 8h\n  features: [reuse]\nrequest:\n  - name: staff-calls\n    from: [group:staff]\n    to: [\"sip:*@ims.example\", \"tel:*\"]\n    max_validity: 1h\n    features: [reuse, forking, initiator_keys, responder_keys]\nresolve:\n  - name: anyone-known\n    who: [\"*\"]\n    of: [group:staff]\n"
	mustParse(t, doc)
}

func TestParseMalformed(t *testing.T) {
	base := "version: 1\nusers: [{impi: a, impus: [sip:a@x], groups: [g]}]\n"
	rule := func(body string) string { return base + "request:\n  - " + body + "\n" }
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty document"},
		{"syntax", "version: 1\nusers: [\n", "line"},
		{"version missing", "users: []\n", "version 0"},
		{"version 2", "version: 2\n", "version 2"},
		{"unknown key", "version: 1\nrulez: []\n", "rulez"},
		{"type error", "version: 1\ndefaults: {features: 5}\n", "line 2"},
		{"two documents", "version: 1\n---\nversion: 1\n", "more than one"},
		{"unknown feature", rule("{from: ['*'], to: ['*'], max_validity: 1h, features: [teleport]}"), `unknown feature "teleport"`},
		{"feature twice", rule("{from: ['*'], to: ['*'], max_validity: 1h, features: [reuse, reuse]}"), "listed twice"},
		{"undefined group", rule("{from: [group:nope], to: ['*'], max_validity: 1h}"), `group "nope" is not defined`},
		{"bad group name", rule("{from: ['group:a b'], to: ['*'], max_validity: 1h}"), "bad group name"},
		{"no from", rule("{to: ['*'], max_validity: 1h}"), "from: at least one pattern"},
		{"no to", rule("{from: ['*'], max_validity: 1h}"), "to: at least one pattern"},
		{"no validity anywhere", rule("{from: ['*'], to: ['*']}"), "max_validity 0s"},
		{"validity above cap", rule("{from: ['*'], to: ['*'], max_validity: 9000h}"), "max_validity"},
		{"negative validity", rule("{from: ['*'], to: ['*'], max_validity: -1h}"), "max_validity"},
		{"validity garbage", rule("{from: ['*'], to: ['*'], max_validity: soon}"), "soon"},
		{"empty pattern", rule("{from: [''], to: ['*'], max_validity: 1h}"), "empty pattern"},
		{"pattern with space", rule("{from: ['sip:a b'], to: ['*'], max_validity: 1h}"), "control character or space"},
		{"nested group", base + "groups: {h: ['group:g']}\n", "groups cannot contain groups"},
		{"bad group key", base + "groups: {'a b': ['*']}\n", "group name"},
		{"duplicate impi", "version: 1\nusers: [{impi: a}, {impi: a}]\n", "listed twice"},
		{"missing impi", "version: 1\nusers: [{impus: [sip:a@x]}]\n", "impi missing"},
		{"empty impu", "version: 1\nusers: [{impi: a, impus: ['']}]\n", "empty impu"},
		{"resolve without of", base + "resolve: [{who: ['*']}]\n", "of: at least one pattern"},
		{"bad default feature", "version: 1\ndefaults: {features: [x]}\n", "defaults"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("parsed: %+v", p)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestDecideRequest(t *testing.T) {
	p := mustParse(t, examplePolicy)
	alice, _ := p.Lookup("alice@ims.example")
	eve, _ := p.Lookup("eve@ims.example")
	carol, _ := p.Lookup("carol@ims.example")
	all := Features{true, true, true, true}
	tests := []struct {
		name       string
		req        TicketRequest
		allowed    bool
		validity   time.Duration
		features   Features
		changed    bool
		rules      string
		reasonPart string
	}{
		{name: "staff to staff as asked",
			req:     TicketRequest{Requester: alice, Initiator: "sip:alice@ims.example", Responders: []string{"sip:bob@ims.example"}, Validity: 30 * time.Minute, Features: Features{Reuse: true}},
			allowed: true, validity: 30 * time.Minute, features: Features{Reuse: true}, rules: "staff-internal"},
		{name: "no preferences",
			req:     TicketRequest{Requester: alice, Responders: []string{"sip:bob@ims.example"}},
			allowed: true, validity: time.Hour, rules: "staff-internal"},
		{name: "validity cut (K)",
			req:     TicketRequest{Requester: alice, Responders: []string{"sip:bob@ims.example"}, Validity: 2 * time.Hour, Features: all},
			allowed: true, validity: time.Hour, features: all, changed: true, rules: "staff-internal"},
		{name: "staff by pattern membership",
			req:     TicketRequest{Requester: alice, Responders: []string{"sip:dave@staff.ims.example"}, Features: Features{Forking: true}},
			allowed: true, validity: time.Hour, features: Features{Forking: true}, rules: "staff-internal"},
		{name: "partner rule removes reuse (K)",
			req:     TicketRequest{Requester: alice, Initiator: "tel:+15551230001", Responders: []string{"sip:x@partner.example"}, Features: Features{Reuse: true, Forking: true}},
			allowed: true, validity: 30 * time.Minute, features: Features{Forking: true}, changed: true, rules: "staff-partners"},
		{name: "two responders: shortest validity, common features",
			req:     TicketRequest{Requester: alice, Responders: []string{"sip:bob@ims.example", "sip:x@partner.example"}, Features: Features{Forking: true}},
			allowed: true, validity: 30 * time.Minute, features: Features{Forking: true}, rules: "staff-internal,staff-partners"},
		{name: "helpdesk with defaults",
			req:     TicketRequest{Requester: carol, Responders: []string{"sip:helpdesk@ims.example"}, Validity: 24 * time.Hour, Features: Features{Reuse: true, ResponderKeys: true}},
			allowed: true, validity: 8 * time.Hour, features: Features{Reuse: true}, changed: true, rules: "anyone-to-helpdesk"},
		{name: "first match wins: blocked user",
			req:        TicketRequest{Requester: eve, Responders: []string{"sip:bob@ims.example"}},
			reasonPart: `no rule allows "eve@ims.example" to request a ticket towards "sip:bob@ims.example"`},
		{name: "non-staff to staff",
			req:        TicketRequest{Requester: carol, Responders: []string{"sip:bob@ims.example"}},
			reasonPart: "no rule allows"},
		{name: "one responder refused refuses all",
			req:        TicketRequest{Requester: alice, Responders: []string{"sip:bob@ims.example", "sip:carol@ims.example"}},
			reasonPart: `towards "sip:carol@ims.example"`},
		{name: "initiator not owned",
			req:        TicketRequest{Requester: alice, Initiator: "sip:bob@ims.example", Responders: []string{"sip:bob@ims.example"}},
			reasonPart: "is not an identity of"},
		{name: "no responders",
			req:        TicketRequest{Requester: alice},
			reasonPart: "no responder named"},
		{name: "anonymous",
			req:        TicketRequest{Responders: []string{"sip:helpdesk@ims.example"}},
			reasonPart: "no identity"},
		{name: "negative validity",
			req:        TicketRequest{Requester: alice, Responders: []string{"sip:bob@ims.example"}, Validity: -time.Second},
			reasonPart: "negative"},
		{name: "unknown requester, groups from the store",
			req:     TicketRequest{Requester: Subject{IMPI: "zed@ims.example", IMPUs: []string{"sip:zed@ims.example"}, Groups: []string{"staff"}}, Responders: []string{"sip:bob@ims.example"}},
			allowed: true, validity: time.Hour, rules: "staff-internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Decide(tc.req)
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed %t (%s), want %t", d.Allowed, d.Reason, tc.allowed)
			}
			if !d.Allowed {
				if !strings.Contains(d.Reason, tc.reasonPart) {
					t.Fatalf("reason %q lacks %q", d.Reason, tc.reasonPart)
				}
				if d.Validity != 0 || d.Features != (Features{}) || d.Changed || len(d.Rules) != 0 {
					t.Fatalf("refusal grants something: %+v", d)
				}
				return
			}
			if d.Validity != tc.validity || d.Features != tc.features || d.Changed != tc.changed || strings.Join(d.Rules, ",") != tc.rules {
				t.Fatalf("got validity %v features %+v changed %t rules %v", d.Validity, d.Features, d.Changed, d.Rules)
			}
		})
	}
}

func TestDecideResolve(t *testing.T) {
	p := mustParse(t, examplePolicy)
	bob, _ := p.Lookup("bob@ims.example")
	carol, _ := p.Lookup("carol@ims.example")
	helpdesk := Subject{IMPI: "helpdesk@ims.example", IMPUs: []string{"sip:helpdesk@ims.example"}}
	tests := []struct {
		name    string
		req     ResolveRequest
		allowed bool
		rule    string
		reason  string
	}{
		{"staff resolves", ResolveRequest{Resolver: bob, Requester: "sip:alice@ims.example", Responders: []string{"sip:bob@ims.example"}}, true, "staff-resolve", ""},
		{"ticket without IDRr", ResolveRequest{Resolver: bob, Requester: "sip:carol@ims.example"}, true, "staff-resolve", ""},
		{"not a named responder", ResolveRequest{Resolver: bob, Requester: "sip:alice@ims.example", Responders: []string{"sip:carol@ims.example"}}, false, "", "not a responder the ticket names"},
		{"helpdesk resolves a customer", ResolveRequest{Resolver: helpdesk, Requester: "sip:carol@ims.example", Responders: []string{"sip:helpdesk@ims.example"}}, true, "helpdesk-resolves-customers", ""},
		{"helpdesk, foreign requester", ResolveRequest{Resolver: helpdesk, Requester: "sip:x@partner.example"}, false, "", "no rule allows"},
		{"carol may not resolve", ResolveRequest{Resolver: carol, Requester: "sip:alice@ims.example", Responders: []string{"sip:carol@ims.example"}}, false, "", "no rule allows"},
		{"anonymous", ResolveRequest{Requester: "sip:alice@ims.example"}, false, "", "no identity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.DecideResolve(tc.req)
			if d.Allowed != tc.allowed || (tc.allowed && (len(d.Rules) != 1 || d.Rules[0] != tc.rule)) || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("decision %+v", d)
			}
		})
	}
}

func TestAuditRecord(t *testing.T) {
	p := mustParse(t, examplePolicy)
	alice, _ := p.Lookup("alice@ims.example")
	d := p.Decide(TicketRequest{Requester: alice, Initiator: "sip:alice@ims.example", Responders: []string{"sip:bob@ims.example"}, Validity: 2 * time.Hour, Features: Features{Reuse: true, Forking: true}})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	log.Info("ticket request", "audit", d.Audit())
	want := `level=INFO msg="ticket request" audit.action=request audit.impi=alice@ims.example audit.initiator=sip:alice@ims.example audit.responders=sip:bob@ims.example audit.allowed=true audit.rules=staff-internal audit.validity=1h0m0s audit.features=IJ audit.changed=true audit.policy=` + p.Digest + "\n"
	if buf.String() != want {
		t.Fatalf("log line\n got %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	d = p.DecideResolve(ResolveRequest{Resolver: alice, Requester: "sip:bob@ims.example", Responders: []string{"sip:carol@ims.example"}})
	log.LogAttrs(context.Background(), slog.LevelWarn, "resolve refused", d.Audit().Attrs()...)
	if !strings.Contains(buf.String(), `allowed=false reason="\"alice@ims.example\" is not a responder the ticket names"`) {
		t.Fatalf("refusal log %q", buf.String())
	}
	// The record is a copy.
	a := d.Audit()
	a.Responders[0] = "changed"
	if d.Audit().Responders[0] != "sip:carol@ims.example" {
		t.Fatal("audit record aliases the decision")
	}
}

func TestEngineReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(examplePolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	first := e.Current()
	carol, _ := first.Lookup("carol@ims.example")
	req := TicketRequest{Requester: carol, Responders: []string{"sip:bob@ims.example"}}
	if e.Decide(req).Allowed {
		t.Fatal("carol allowed before the change")
	}

	// Readers decide while the file changes and reloads run.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					e.Decide(req)
					e.DecideResolve(ResolveRequest{Resolver: carol, Requester: "sip:bob@ims.example"})
				}
			}
		}()
	}
	opened := strings.Replace(examplePolicy, `    from: ["*"]
    to: ["sip:helpdesk@ims.example"]`, `    from: ["*"]
    to: ["sip:helpdesk@ims.example", "sip:bob@ims.example"]`, 1)
	if opened == examplePolicy {
		t.Fatal("test edit did not apply")
	}
	for i := range 20 {
		content := examplePolicy
		if i%2 == 1 {
			content = opened
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := e.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if !e.Decide(req).Allowed || e.Current().Digest == first.Digest {
		t.Fatal("reload did not take effect")
	}

	// A broken file keeps the running policy.
	running := e.Current()
	if err := os.WriteFile(path, []byte("version: 1\nrequest: [{from: ['*']}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = e.Reload()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "keeping the running policy") || !strings.Contains(err.Error(), "request rule 1") {
		t.Fatalf("bad reload: %v", err)
	}
	if e.Current() != running || !e.Decide(req).Allowed {
		t.Fatal("a bad file replaced the policy")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(); err == nil || e.Current() != running {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"*", "sip:a@b", true},
		{"sip:*@ims.example", "sip:alice@ims.example", true},
		{"sip:*@ims.example", "sip:alice@ims.example.evil", false},
		{"sip:*@ims.example", "tel:+1", false},
		{"sip:?@x", "sip:a@x", true},
		{"sip:?@x", "sip:ab@x", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxbxxcx", false},
		{"", "", true},
		{"", "a", false},
		{"a**", "a", true},
		{"*", "*0", true}, // found by FuzzGlob
		{"a*", "a*b", true},
	} {
		if got := glob(tc.pat, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %t", tc.pat, tc.s, got)
		}
	}
}

// Errors name the file, line and place (internal/yamlconf); hostile YAML is refused.
func TestParseFileLines(t *testing.T) {
	base := "version: 1\nusers:\n  - impi: a\n    groups: [g]\n"
	for _, tc := range []struct{ name, in, want string }{
		{"version", "users: []\nversion: 2\n", "p.yaml:2: version: version 2, want 1"},
		{"duplicate impi", base + "  - impi: a\n", "p.yaml:5: user 2: impi \"a\" listed twice"},
		{"undefined group", base + "request:\n  - from: [group:g]\n    to:\n      - '*'\n      - group:nope\n    max_validity: 1h\n", "p.yaml:9: request rule 1: group \"nope\" is not defined"},
		{"validity", base + "request:\n  - from: ['*']\n    to: ['*']\n    max_validity: 9000h\n", "p.yaml:8: request rule 1: max_validity"},
		{"resolve", base + "resolve:\n  - who: ['*']\n", "p.yaml:6: resolve rule 1: of: at least one pattern"},
		{"unknown key", base + "rulez: []\n", "p.yaml:5: field rulez not found"},
		{"repeated key", base + "users: []\n", "p.yaml:5: users: repeated key (first at line 2)"},
		{"alias", "version: 1\nusers: &u []\ngroups: {g: *u}\n", "p.yaml:3: YAML aliases are not supported"},
	} {
		_, err := ParseFile("p.yaml", []byte(tc.in))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "policy: invalid policy: "+tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// configs/kms-policy.yaml, which cmd/kms ships with, loads.
func TestShippedPolicy(t *testing.T) {
	e, err := Load("../../../configs/kms-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Current().Users()); n != 2 {
		t.Errorf("%d users, want 2", n)
	}
}
