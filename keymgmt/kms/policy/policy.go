package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imsphone/imsphone/internal/yamlconf"
)

// Version is the policy file schema version this package reads.
const Version = 1

// MaxValidityCap bounds any ticket validity a file may grant.
const MaxValidityCap = 366 * 24 * time.Hour

// Features are the ticket features a rule grants, as RFC 6043 §6.10 Ticket Policy flags.
type Features struct {
	Reuse         bool // J: the ticket may be reused and cached
	Forking       bool // I: key forking
	InitiatorKeys bool // L: the Initiator may supply session keys
	ResponderKeys bool // M: the Responder may supply session keys
}

func (f Features) and(g Features) Features {
	return Features{f.Reuse && g.Reuse, f.Forking && g.Forking, f.InitiatorKeys && g.InitiatorKeys, f.ResponderKeys && g.ResponderKeys}
}

// Flags names the granted flags as in RFC 6043 §6.10 (e.g. "IJ").
func (f Features) Flags() string {
	var b strings.Builder
	for _, x := range []struct {
		on bool
		c  byte
	}{{f.Forking, 'I'}, {f.Reuse, 'J'}, {f.InitiatorKeys, 'L'}, {f.ResponderKeys, 'M'}} {
		if x.on {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// Feature names in the policy file.
const (
	FeatureReuse         = "reuse"
	FeatureForking       = "forking"
	FeatureInitiatorKeys = "initiator_keys"
	FeatureResponderKeys = "responder_keys"
)

// User is a subscriber known to the policy.
type User struct {
	IMPI   string   `yaml:"impi"`
	IMPUs  []string `yaml:"impus"`
	Groups []string `yaml:"groups"`
}

// RequestRule allows requesters matching From to request tickets towards responders matching
// To, up to MaxValidity and with at most Features.
type RequestRule struct {
	Name        string
	From        []Pattern
	To          []Pattern
	MaxValidity time.Duration
	Features    Features
}

// ResolveRule allows resolvers matching Who to resolve tickets requested by identities
// matching Of.
type ResolveRule struct {
	Name string
	Who  []Pattern
	Of   []Pattern
}

// Policy is one parsed, validated policy file. It is immutable; Engine swaps whole policies.
type Policy struct {
	users   []User
	byID    map[string]int       // IMPI or IMPU → index in users; the first user listing it wins
	groups  map[string][]Pattern // group name → member patterns
	request []RequestRule
	resolve []ResolveRule
	// Digest identifies the file content in audit records (first 8 octets of SHA-256, hex).
	Digest string
}

// file is the YAML schema.
type file struct {
	Version  int                 `yaml:"version"`
	Users    []User              `yaml:"users"`
	Groups   map[string][]string `yaml:"groups"`
	Defaults struct {
		MaxValidity time.Duration `yaml:"max_validity"`
		Features    []string      `yaml:"features"`
	} `yaml:"defaults"`
	Request []struct {
		Name        string        `yaml:"name"`
		From        []string      `yaml:"from"`
		To          []string      `yaml:"to"`
		MaxValidity time.Duration `yaml:"max_validity"`
		Features    *[]string     `yaml:"features"`
	} `yaml:"request"`
	Resolve []struct {
		Name string   `yaml:"name"`
		Who  []string `yaml:"who"`
		Of   []string `yaml:"of"`
	} `yaml:"resolve"`
}

// ErrInvalid is wrapped by every Parse error.
var ErrInvalid = errors.New("policy: invalid policy")

// Parse reads and validates a policy file:
//
//	version: 1
//	users:                       # IMPI with its IMPUs and groups
//	  - impi: alice@ims.example
//	    impus: [sip:alice@ims.example, tel:+15551230001]
//	    groups: [staff]
//	groups:                      # more members by pattern
//	  staff: ["sip:*@staff.ims.example"]
//	defaults:                    # for rules that do not say
//	  max_validity: 8h
//	  features: [reuse]
//	request:                     # first rule matching requester and responder applies
//	  - name: staff-calls
//	    from: [group:staff]
//	    to: ["sip:*@ims.example", "tel:*"]
//	    max_validity: 1h
//	    features: [reuse, forking, initiator_keys, responder_keys]
//	resolve:
//	  - name: anyone-known
//	    who: ["*"]
//	    of: [group:staff]
//
// A pattern is "group:<name>", or an identity glob where "*" matches any run of characters
// and "?" one character, matched against the IMPI and each IMPU. Unknown keys, unknown
// features, undefined groups and missing fields are errors. Nothing is allowed that no
// rule allows.
func Parse(data []byte) (*Policy, error) { return ParseFile("", data) }

// limits bound a policy file (internal/yamlconf): large enough for some hundred thousand users.
func limits() yamlconf.Limits {
	return yamlconf.Limits{MaxBytes: 64 << 20, MaxNodes: 1 << 23, MaxMappingKeys: 1 << 14, MaxSequence: 1 << 20, What: "a policy file"}
}

// ParseFile is Parse for the contents of the file name: errors wrap ErrInvalid and a *yamlconf.Error
// naming the file and line ("policy: invalid policy: kms-policy.yaml:7: request rule 1: ...").
func ParseFile(name string, data []byte) (*Policy, error) {
	var f file
	doc, err := yamlconf.Decode(name, data, &f, limits())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, doc.Errorf("version", "version %d, want %d", f.Version, Version))
	}
	sum := sha256.Sum256(data)
	p := &Policy{groups: map[string][]Pattern{}, byID: map[string]int{}, Digest: hex.EncodeToString(sum[:8])}
	// path locates the line; where names the place in the message.
	badAt := func(path, where, format string, args ...any) error {
		return fmt.Errorf("%w: %w", ErrInvalid, &yamlconf.Error{File: doc.File, Line: doc.Line(path),
			Err: fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...))})
	}

	known := map[string]bool{}
	for name, members := range f.Groups {
		if !validName(name) {
			return nil, badAt("groups."+name, "groups", "group name %q: letters, digits, '.', '_' and '-' only", name)
		}
		known[name] = true
		for _, m := range members {
			pt, err := ParsePattern(m)
			if err != nil {
				return nil, badAt("groups."+name, "group "+name, "%v", err)
			}
			if pt.group != "" {
				// Nesting would need cycle detection for no real gain.
				return nil, badAt("groups."+name, "group "+name, "member %q: groups cannot contain groups", m)
			}
			p.groups[name] = append(p.groups[name], pt)
		}
	}
	seenIMPI := map[string]bool{}
	for i, u := range f.Users {
		where, at := fmt.Sprintf("user %d", i+1), fmt.Sprintf("users.%d", i)
		if u.IMPI == "" {
			return nil, badAt(at, where, "impi missing")
		}
		if seenIMPI[u.IMPI] {
			return nil, badAt(at+".impi", where, "impi %q listed twice", u.IMPI)
		}
		seenIMPI[u.IMPI] = true
		for _, g := range u.Groups {
			if !validName(g) {
				return nil, badAt(at+".groups", where, "group name %q", g)
			}
			known[g] = true
		}
		for _, impu := range u.IMPUs {
			if impu == "" {
				return nil, badAt(at+".impus", where, "empty impu")
			}
		}
		for _, id := range append([]string{u.IMPI}, u.IMPUs...) {
			if _, ok := p.byID[id]; !ok {
				p.byID[id] = len(p.users)
			}
		}
		p.users = append(p.users, User{IMPI: u.IMPI, IMPUs: slices.Clone(u.IMPUs), Groups: slices.Clone(u.Groups)})
	}
	// patterns parses the list at path at+"."+field.
	patterns := func(at, where, field string, in []string) ([]Pattern, error) {
		if len(in) == 0 {
			return nil, badAt(at+"."+field, where, "%s: at least one pattern needed", field)
		}
		var out []Pattern
		for i, s := range in {
			pt, err := ParsePattern(s)
			if err != nil {
				return nil, badAt(fmt.Sprintf("%s.%s.%d", at, field, i), where, "%s: %v", field, err)
			}
			if pt.group != "" && !known[pt.group] {
				return nil, badAt(fmt.Sprintf("%s.%s.%d", at, field, i), where, "group %q is not defined", pt.group)
			}
			out = append(out, pt)
		}
		return out, nil
	}

	defFeatures, err := parseFeatures(f.Defaults.Features)
	if err != nil {
		return nil, badAt("defaults.features", "defaults", "%v", err)
	}
	if f.Defaults.MaxValidity < 0 || f.Defaults.MaxValidity > MaxValidityCap {
		return nil, badAt("defaults.max_validity", "defaults", "max_validity %v not in 0..%v", f.Defaults.MaxValidity, MaxValidityCap)
	}
	for i, r := range f.Request {
		where, at := fmt.Sprintf("request rule %d", i+1), fmt.Sprintf("request.%d", i)
		if r.Name != "" {
			where += " (" + r.Name + ")"
		}
		rule := RequestRule{Name: r.Name, MaxValidity: r.MaxValidity, Features: defFeatures}
		if rule.Name == "" {
			rule.Name = fmt.Sprintf("request#%d", i+1)
		}
		if rule.From, err = patterns(at, where, "from", r.From); err != nil {
			return nil, err
		}
		if rule.To, err = patterns(at, where, "to", r.To); err != nil {
			return nil, err
		}
		if rule.MaxValidity == 0 {
			rule.MaxValidity = f.Defaults.MaxValidity
		}
		if rule.MaxValidity <= 0 || rule.MaxValidity > MaxValidityCap {
			return nil, badAt(at+".max_validity", where, "max_validity %v not in (0, %v] (set it here or in defaults)", rule.MaxValidity, MaxValidityCap)
		}
		if r.Features != nil {
			if rule.Features, err = parseFeatures(*r.Features); err != nil {
				return nil, badAt(at+".features", where, "%v", err)
			}
		}
		p.request = append(p.request, rule)
	}
	for i, r := range f.Resolve {
		where, at := fmt.Sprintf("resolve rule %d", i+1), fmt.Sprintf("resolve.%d", i)
		if r.Name != "" {
			where += " (" + r.Name + ")"
		}
		rule := ResolveRule{Name: r.Name}
		if rule.Name == "" {
			rule.Name = fmt.Sprintf("resolve#%d", i+1)
		}
		if rule.Who, err = patterns(at, where, "who", r.Who); err != nil {
			return nil, err
		}
		if rule.Of, err = patterns(at, where, "of", r.Of); err != nil {
			return nil, err
		}
		p.resolve = append(p.resolve, rule)
	}
	return p, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func parseFeatures(names []string) (Features, error) {
	var f Features
	for _, n := range names {
		var p *bool
		switch n {
		case FeatureReuse:
			p = &f.Reuse
		case FeatureForking:
			p = &f.Forking
		case FeatureInitiatorKeys:
			p = &f.InitiatorKeys
		case FeatureResponderKeys:
			p = &f.ResponderKeys
		default:
			return f, fmt.Errorf("unknown feature %q (want %s, %s, %s or %s)", n, FeatureReuse, FeatureForking, FeatureInitiatorKeys, FeatureResponderKeys)
		}
		if *p {
			return f, fmt.Errorf("feature %q listed twice", n)
		}
		*p = true
	}
	return f, nil
}

// Users returns the users defined in the file.
func (p *Policy) Users() []User {
	out := make([]User, len(p.users))
	for i, u := range p.users {
		out[i] = User{IMPI: u.IMPI, IMPUs: slices.Clone(u.IMPUs), Groups: slices.Clone(u.Groups)}
	}
	return out
}

// RequestRules and ResolveRules return the rules in order.
func (p *Policy) RequestRules() []RequestRule { return slices.Clone(p.request) }

// ResolveRules returns the resolve rules in order.
func (p *Policy) ResolveRules() []ResolveRule { return slices.Clone(p.resolve) }
