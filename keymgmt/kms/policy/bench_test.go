package policy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecide decides against a policy with 10 000 users and a few rules.
func BenchmarkDecide(b *testing.B) {
	var y strings.Builder
	y.WriteString(examplePolicy[:strings.Index(examplePolicy, "groups:\n  staff")])
	for i := range 10000 {
		fmt.Fprintf(&y, "  - impi: u%d@ims.example\n    impus: [sip:u%d@ims.example]\n    groups: [staff]\n", i, i)
	}
	y.WriteString(examplePolicy[strings.Index(examplePolicy, "groups:\n  staff"):])
	p := mustParse(b, y.String())
	alice, _ := p.Lookup("alice@ims.example")
	req := TicketRequest{Requester: alice, Responders: []string{"sip:u9999@ims.example"}, Features: Features{Reuse: true}}
	if d := p.Decide(req); !d.Allowed {
		b.Fatal(d.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Decide(req)
	}
}
