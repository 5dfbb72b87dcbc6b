package policy

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/imsphone/imsphone/internal/yamlconf"
)

// Engine holds the running policy and reloads it from its file. Decisions read one policy
// snapshot; a reload swaps the whole policy atomically, and a file that does not parse or
// validate leaves the running policy in place.
type Engine struct {
	path string
	mu   sync.Mutex // serialises reloads
	cur  atomic.Pointer[Policy]
}

// Load reads the policy file at path; it fails if the file is not a valid policy.
func Load(path string) (*Engine, error) {
	data, err := yamlconf.ReadFile(path, limits())
	if err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	p, err := ParseFile(path, data)
	if err != nil {
		return nil, err // it names the file
	}
	return NewEngine(path, p), nil
}

// NewEngine returns an engine running p that reloads from path.
func NewEngine(path string, p *Policy) *Engine {
	e := &Engine{path: path}
	e.cur.Store(p)
	return e
}

// Reload reads the file again and, if it is valid, makes it the running policy. On error the
// running policy is kept and the error names the file and the problem.
func (e *Engine) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	data, err := yamlconf.ReadFile(e.path, limits())
	if err != nil {
		return fmt.Errorf("policy: reload: %w (keeping the running policy)", err)
	}
	p, err := ParseFile(e.path, data)
	if err != nil {
		return fmt.Errorf("%w (keeping the running policy)", err)
	}
	e.cur.Store(p)
	return nil
}

// Current returns the running policy.
func (e *Engine) Current() *Policy { return e.cur.Load() }

// Decide decides with the running policy.
func (e *Engine) Decide(req TicketRequest) Decision { return e.Current().Decide(req) }

// DecideResolve decides with the running policy.
func (e *Engine) DecideResolve(req ResolveRequest) Decision { return e.Current().DecideResolve(req) }
