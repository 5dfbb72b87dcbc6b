package registrar

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Binding is one registered contact of an address-of-record (RFC 3261 §10.3 step 7): the
// Contact, the Call-ID and CSeq of the REGISTER that last changed it, and its absolute expiry.
type Binding struct {
	Contact sip.ContactHeader
	CallID  string
	CSeq    uint32
	Expires time.Time
	// Source and Transport are where the REGISTER came from (RFC 3581 received/rport): kept for
	// diagnostics and for a later outbound-style flow reuse.
	Source    string
	Transport string
}

// Location is the location service of RFC 3261 §10.2/§16.5: AOR → bindings, with expiry
// judged by an injected clock. It is safe for concurrent use.
type Location struct {
	now func() time.Time
	mu  sync.Mutex
	aor map[string][]Binding
}

// NewLocation returns an empty location service; now is the clock (nil: time.Now).
func NewLocation(now func() time.Time) *Location {
	if now == nil {
		now = time.Now
	}
	return &Location{now: now, aor: map[string][]Binding{}}
}

// AORKey is the canonical form under which an address-of-record is stored: scheme, user and
// host, the host lower-cased (RFC 3261 §19.1.4: host comparison is case-insensitive, user
// comparison is case-sensitive; URI parameters do not take part in an AOR).
func AORKey(u sip.Uri) string {
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		scheme = "sip"
	}
	return scheme + ":" + u.User + "@" + strings.ToLower(u.Host)
}

// contactKey identifies a binding within an AOR (RFC 3261 §10.3 step 7 compares contact URIs
// by §19.1.4; this simplification compares scheme, user, host, port and transport).
func contactKey(u sip.Uri) string {
	tp, _ := u.UriParams.Get("transport")
	return AORKey(u) + ":" + itoa(u.Port) + ";" + strings.ToLower(tp)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Lookup returns the live bindings of aor (expired ones are dropped).
func (l *Location) Lookup(aor string) []Binding {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.pruneLocked(aor))
}

func (l *Location) pruneLocked(aor string) []Binding {
	now := l.now()
	bs := slices.DeleteFunc(l.aor[aor], func(b Binding) bool { return !now.Before(b.Expires) })
	if len(bs) == 0 {
		delete(l.aor, aor)
		return nil
	}
	l.aor[aor] = bs
	return bs
}

// ErrOutOfOrder is returned by Apply when a REGISTER with the same Call-ID carries a CSeq not
// higher than the binding's (RFC 3261 §10.3 step 7: "the update MUST be aborted").
type ErrOutOfOrder struct{ Contact string }

func (e *ErrOutOfOrder) Error() string {
	return "REGISTER CSeq not higher than the binding's for contact " + e.Contact
}

// Apply applies the bindings of one REGISTER to aor atomically, all or none (RFC 3261 §10.3
// step 7 processes the contacts of one REGISTER as a unit). A binding whose Expires is not after
// now removes the contact. removeAll is the "Contact: *" case; then callID/cseq are checked
// against every binding.
func (l *Location) Apply(aor string, ups []Binding, removeAll bool, callID string, cseq uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := slices.Clone(l.pruneLocked(aor))
	now := l.now()
	if removeAll {
		for _, b := range cur {
			if b.CallID == callID && cseq <= b.CSeq {
				return &ErrOutOfOrder{Contact: "*"}
			}
		}
		delete(l.aor, aor)
		return nil
	}
	for _, u := range ups {
		key := contactKey(u.Contact.Address)
		i := slices.IndexFunc(cur, func(b Binding) bool { return contactKey(b.Contact.Address) == key })
		if i >= 0 && cur[i].CallID == u.CallID && u.CSeq <= cur[i].CSeq {
			return &ErrOutOfOrder{Contact: u.Contact.Address.String()}
		}
		remove := !now.Before(u.Expires)
		switch {
		case i >= 0 && remove:
			cur = slices.Delete(cur, i, i+1)
		case i >= 0:
			cur[i] = u
		case !remove:
			cur = append(cur, u)
		}
	}
	if len(cur) == 0 {
		delete(l.aor, aor)
	} else {
		l.aor[aor] = cur
	}
	return nil
}
