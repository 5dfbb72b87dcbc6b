package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media"
)

// ErrCallEnded is returned by actions on a call that is over.
var ErrCallEnded = errors.New("client: call ended")

// eventQueue bounds a call's Events channel; events beyond it are dropped and counted, so a
// slow reader never stalls signalling or media.
const eventQueue = 64

// Call is one call, outgoing or incoming.
type Call struct {
	p        *Phone
	log      *slog.Logger
	outgoing bool
	// CallID is the SIP Call-ID; Remote the peer's URI (To of ours, From of theirs).
	CallID string
	Remote string

	ctx    context.Context // ends with the call
	cancel context.CancelFunc

	evMu          sync.Mutex
	events        chan Event
	evClosed      bool
	eventsDropped atomic.Uint64
	done          chan struct{}
	endOnce       sync.Once
	final         Event

	mu         sync.Mutex
	media      *mediaSession
	keys       *keymgmt.Keys
	neg        *sdpoa.Negotiated
	inviteSent time.Time
	mediaUp    time.Time
	answered   bool
	// remoteBye is set when the peer's BYE is being handled, so that a local hang-up racing it
	// does not send a BYE of its own.
	remoteBye bool
	// For re-INVITEs: our o= line (its version grows per SDP, RFC 3264 §8), the direction the
	// user asked for, and the ACK awaited for our 2xx to a re-INVITE.
	origin     sdpoa.Origin
	baseDir    sdpoa.Direction
	reinviteMu sync.Mutex
	ackCSeq    uint32
	ackWait    chan struct{}
	// exchange says, under mu, what holds reinviteMu (see onReinvite).
	exchange exchangeState
	// stimer is the RFC 4028 session timer (sessiontimer.go).
	stimer sessionTimer

	// Outgoing.
	cs           *sipgo.DialogClientSession
	cancelInvite context.CancelFunc
	// Incoming.
	ss     *sipgo.DialogServerSession
	decide chan decision
	// established is closed once the call is answered (2xx sent and ACKed, or received).
	established chan struct{}
	// answeredEv is closed once EventAnswered is queued: EventMediaUp waits for it, since the
	// callee starts its media before the ACK (RFC 3264 §6) and may hear the caller first.
	answeredEv chan struct{}
}

// emitAnswered queues EventAnswered, once the keys and negotiated session are set, and lets
// EventMediaUp follow.
func (c *Call) emitAnswered(code int, reason string) {
	c.emit(Event{Kind: EventAnswered, Code: code, Reason: reason})
	close(c.answeredEv)
}

// errAnswered tells a rejection that the call got answered meanwhile.
var errAnswered = errors.New("client: call already answered")

func (c *Call) markAnswered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.answered {
		c.answered = true
		close(c.established)
	}
}

type decision struct {
	code   int // 200 answers, else the rejection status
	reason string
	opts   CallOptions
	result chan error
}

func (p *Phone) newCall(outgoing bool, callID, remote string) *Call {
	c := &Call{p: p, outgoing: outgoing, CallID: callID, Remote: remote, events: make(chan Event, eventQueue),
		done: make(chan struct{}), decide: make(chan decision), established: make(chan struct{}),
		answeredEv: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(p.ctx)
	c.log = p.log.With("call", callID, "outgoing", outgoing)
	return c
}

// Outgoing reports whether we placed the call.
func (c *Call) Outgoing() bool { return c.outgoing }

// Events delivers what happens to the call; it is closed after EventEnded.
func (c *Call) Events() <-chan Event { return c.events }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Ended returns the EventEnded of a finished call (zero before).
func (c *Call) Ended() Event {
	select {
	case <-c.done:
		return c.final
	default:
		return Event{}
	}
}

// EventsDropped counts events lost because Events was not read.
func (c *Call) EventsDropped() uint64 { return c.eventsDropped.Load() }

// Keys describes the negotiated protection (nil for plain RTP); the key material stays inside.
func (c *Call) Keys() *keymgmt.Keys {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys
}

// Negotiated is the SDP outcome (nil before).
func (c *Call) Negotiated() *sdpoa.Negotiated {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.neg
}

// SetupTime is the time from sending the INVITE to the first authenticated media packet
// (outgoing calls with media up; 0 otherwise).
func (c *Call) SetupTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inviteSent.IsZero() || c.mediaUp.IsZero() {
		return 0
	}
	return c.mediaUp.Sub(c.inviteSent)
}

// Stats returns the media statistics (false before media starts).
func (c *Call) Stats() (media.Stats, bool) {
	st := c.stream()
	if st == nil {
		return media.Stats{}, false
	}
	return st.Stats(), true
}

// stream is the running media stream, nil before media starts.
func (c *Call) stream() *media.Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.media == nil {
		return nil
	}
	return c.media.stream
}

// SendDTMF sends digits as RFC 4733 telephone-events.
func (c *Call) SendDTMF(digits string) error {
	st := c.stream()
	if st == nil {
		return errors.New("client: no media")
	}
	return st.SendDTMF(digits)
}

func (c *Call) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	c.evMu.Lock()
	defer c.evMu.Unlock()
	if c.evClosed {
		return
	}
	select {
	case c.events <- e:
	default:
		c.eventsDropped.Add(1)
	}
}

// end finishes the call once: media stopped, EventEnded (always delivered: the queue keeps
// room by dropping the oldest event if full), Events closed.
func (c *Call) end(by Party, code int, reason, warning string) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		ms := c.media
		if ms != nil {
			ms.stopped = true
		}
		c.mu.Unlock()
		var st *media.Stats
		if ms != nil {
			st = ms.stop()
		}
		c.cancel()
		c.stopSession()
		e := Event{Kind: EventEnded, Time: time.Now(), By: by, Code: code, Reason: reason, Warning: warning, Stats: st}
		c.final = e
		c.evMu.Lock()
		select {
		case c.events <- e:
		default:
			<-c.events
			c.eventsDropped.Add(1)
			c.events <- e
		}
		c.evClosed = true
		close(c.events)
		c.evMu.Unlock()
		c.p.forget(c)
		c.log.Info("call ended", "by", by, "code", code, "reason", reason)
		close(c.done)
	})
}

// Answer accepts an incoming call with these options: the 2xx with our answer goes out and
// Answer returns once the ACK arrives (RFC 3261 §13.3.1.4).
func (c *Call) Answer(ctx context.Context, opts CallOptions) error {
	if c.outgoing {
		return errors.New("client: Answer on an outgoing call")
	}
	return c.send(ctx, decision{code: 200, opts: opts})
}

// Reject refuses an incoming call before it is answered, e.g. 486 Busy Here or 603 Decline.
func (c *Call) Reject(ctx context.Context, code int, reason string) error {
	if c.outgoing || code < 300 || code > 699 {
		return fmt.Errorf("client: cannot reject with %d", code)
	}
	return c.send(ctx, decision{code: code, reason: reason})
}

func (c *Call) send(ctx context.Context, d decision) error {
	d.result = make(chan error, 1)
	select {
	case c.decide <- d:
	case <-c.done:
		return ErrCallEnded
	case <-c.established:
		// Answered meanwhile (auto answer, or an Answer already under way).
		return errAnswered
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-d.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bye sends BYE on the established call (RFC 3261 §15) and ends it By Local with reason.
func (c *Call) bye(ctx context.Context, reason string) error {
	err := c.sendBye(ctx)
	c.end(Local, 0, reason, "")
	if err != nil {
		return fmt.Errorf("client: BYE: %w", err)
	}
	return nil
}

// sendBye sends BYE on the established call (RFC 3261 §15) with these extra headers.
func (c *Call) sendBye(ctx context.Context, hdrs ...sip.Header) error {
	c.mu.Lock()
	cs, ss := c.cs, c.ss
	c.mu.Unlock()
	if len(hdrs) == 0 {
		if c.outgoing {
			return cs.Bye(ctx)
		}
		return ss.Bye(ctx)
	}
	// The request sipgo's Bye builds (remote target from the Contact of the 2xx or of the
	// INVITE, §12.1), with our headers added; the dialog fills in the rest.
	if c.outgoing {
		target := cs.InviteRequest.Recipient
		if ct := cs.InviteResponse.Contact(); ct != nil {
			target = ct.Address
		}
		req := sip.NewRequest(sip.BYE, *target.Clone())
		for _, h := range hdrs {
			req.AppendHeader(h)
		}
		return cs.WriteBye(ctx, req)
	}
	req := sip.NewRequest(sip.BYE, *ss.InviteRequest.Contact().Address.Clone())
	req.SetTransport(ss.InviteRequest.Transport())
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	return ss.WriteBye(ctx, req)
}

// byeAndEnd ends an established call By Local with reason at once and sends BYE with hdrs
// in the background (unless the peer's BYE is being handled): for ends the user did not ask
// for, where the peer may be gone and never answer the BYE.
func (c *Call) byeAndEnd(reason string, hdrs ...sip.Header) {
	c.mu.Lock()
	remoteBye := c.remoteBye
	c.mu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	if remoteBye {
		return
	}
	c.end(Local, 0, reason, "")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
		defer cancel()
		if err := c.sendBye(ctx, hdrs...); err != nil {
			c.log.Info("BYE not answered", "reason", reason, "error", err)
		}
	}()
}

// Hangup ends the call: CANCEL before the answer of an outgoing call (RFC 3261 §9), 603 Decline
// for an incoming call not yet answered, else BYE (§15). It returns when the call has ended.
func (c *Call) Hangup(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.mu.Lock()
	answered, cancelInvite, remoteBye := c.answered, c.cancelInvite, c.remoteBye
	c.mu.Unlock()
	switch {
	case remoteBye:
	case c.outgoing && !answered:
		if cancelInvite != nil {
			cancelInvite()
		}
	case !c.outgoing && !answered:
		err := c.Reject(ctx, 603, "Decline")
		if errors.Is(err, errAnswered) {
			return c.Hangup(ctx) // now established: BYE
		}
		if err != nil && !errors.Is(err, ErrCallEnded) {
			return err
		}
	default:
		if err := c.bye(ctx, "BYE"); err != nil {
			return err
		}
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
