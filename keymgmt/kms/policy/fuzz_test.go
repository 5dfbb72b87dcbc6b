package policy

import (
	"os"
	"path"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics, and any policy it accepts decides without panicking and
// within its own bounds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(examplePolicy))
	f.Add([]byte("version: 1\n"))
	f.Add([]byte("version: 1\nrequest: [{from: ['*'], to: ['*'], max_validity: 1h, features: [reuse]}]\nresolve: [{who: ['*'], of: ['*']}]\n"))
	f.Add([]byte("version: 1\ngroups: {g: ['sip:*']}\nrequest: [{from: [group:g], to: ['sip:?@*'], max_validity: 5m}]\n"))
	f.Add([]byte("version: 1\nusers: [{impi: a, impus: [sip:a@x], groups: [g]}]\n"))
	f.Add([]byte("version: 2\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Add([]byte("version: 1\nversion: 1\n"))
	if b, err := os.ReadFile("../../../configs/kms-policy.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		ids := []string{"sip:a@x", "a", "tel:+1", ""}
		for _, u := range p.Users() {
			ids = append(ids, u.IMPI)
			ids = append(ids, u.IMPUs...)
		}
		for _, from := range ids {
			req := Subject{IMPI: from, IMPUs: []string{from}}
			if s, ok := p.Lookup(from); ok {
				req = s
			}
			for _, to := range ids {
				want := Features{Reuse: true, Forking: true}
				d := p.Decide(TicketRequest{Requester: req, Responders: []string{to}, Validity: time.Hour, Features: want})
				if d.Allowed && (d.Validity <= 0 || d.Validity > time.Hour || d.Features.and(want) != d.Features || len(d.Rules) == 0) {
					t.Fatalf("decision out of bounds: %+v", d)
				}
				if d.Allowed == (d.Reason != "") {
					t.Fatalf("allowed %t with reason %q", d.Allowed, d.Reason)
				}
				_ = p.DecideResolve(ResolveRequest{Resolver: req, Requester: to}).Audit().Attrs()
			}
		}
	})
}

// FuzzGlob checks glob against path.Match, an independent matcher, where their languages
// agree (no '/', '[', '\\').
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"sip:*@ims.example", "sip:alice@ims.example"}, {"*a*b", "aab"}, {"?*?", "ab"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		if strings.ContainsAny(pat, "/[\\") || strings.Contains(s, "/") || len(pat) > 64 || len(s) > 64 {
			return
		}
		want, err := path.Match(pat, s)
		if err != nil {
			return
		}
		// path.Match's '?' and '*' work on runes; compare on ASCII only.
		for i := 0; i < len(pat); i++ {
			if pat[i] >= 0x80 {
				return
			}
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return
			}
		}
		if got := glob(pat, s); got != want {
			t.Fatalf("glob(%q, %q) = %t, path.Match says %t", pat, s, got, want)
		}
	})
}
