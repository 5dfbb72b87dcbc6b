package client

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SIP session timers (RFC 4028): the refresher re-INVITEs the session at half its interval
// (§7.2, §9, §10), the other side sends BYE when no refresh came min(32 s, interval/3) before it
// expires (§10). We refresh with re-INVITE only (no UPDATE: our Allow does not list it), and
// always say Supported: timer (§7.1), since we can refresh when a peer asks us to.

// minSEFloor is the smallest session interval RFC 4028 allows (§4: Session-Expires, §5: Min-SE
// "MUST NOT be less than 90 seconds").
const minSEFloor = 90 * time.Second

// maxSessionInterval bounds what we accept from a peer, so that a hostile value cannot
// overflow time arithmetic; delta-seconds has no upper bound in the grammar (§4).
const maxSessionInterval = 24 * time.Hour

// sessionExpires is a Session-Expires header field value (RFC 4028 §4):
// delta-seconds *(SEMI (refresher-param / generic-param)).
type sessionExpires struct {
	interval time.Duration
	// refresher is "uac" or "uas", the UAC or UAS of the transaction carrying the header, or
	// "" when absent.
	refresher string
}

func (s sessionExpires) String() string {
	v := strconv.FormatInt(int64(s.interval/time.Second), 10)
	if s.refresher != "" {
		v += ";refresher=" + s.refresher
	}
	return v
}

// headers is what requests and responses share for reading header fields.
type headers interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// sessionExpiresOf reads a message's Session-Expires (compact form "x", §4), if any.
func sessionExpiresOf(m headers) (sessionExpires, bool, error) {
	h := m.GetHeader("Session-Expires")
	if h == nil {
		h = m.GetHeader("x")
	}
	if h == nil {
		return sessionExpires{}, false, nil
	}
	se, err := parseSessionExpires(h.Value())
	return se, err == nil, err
}

// minSEOf reads a message's Min-SE, or the 90 s default (§5) when absent.
func minSEOf(m headers) (time.Duration, error) {
	h := m.GetHeader("Min-SE")
	if h == nil {
		return minSEFloor, nil
	}
	return parseMinSE(h.Value())
}

// supportsTimer says whether a request's Supported or Require lists the option tag "timer".
func supportsTimer(m headers) bool {
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range m.GetHeaders(name) {
			for _, tag := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tag), "timer") {
					return true
				}
			}
		}
	}
	return false
}

// sessionTimer is a call's session timer state; Call.mu guards it.
type sessionTimer struct {
	interval  time.Duration // 0: no session timer
	refresher bool          // we send the refreshes
	expires   time.Time     // the session expires then unless refreshed
	t         *time.Timer
	gen       uint64 // identifies the armed timer, so a stale one does nothing
}

// sessionOffer adds the session timer headers to an INVITE or re-INVITE of ours (§7.1, §7.4):
// Supported: timer always; Session-Expires with the running interval (refresher=uac when we
// refresh, uas when the peer does), else with what we ask for (Config.SessionExpires, or the
// 422's Min-SE); Min-SE unless it is the 90 s default.
func (c *Call) sessionOffer(req *sip.Request, ask time.Duration, minSE time.Duration) {
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	c.mu.Lock()
	st := c.stimer
	c.mu.Unlock()
	switch {
	case st.interval > 0:
		r := "uas"
		if st.refresher {
			r = "uac"
		}
		req.AppendHeader(sip.NewHeader("Session-Expires", sessionExpires{interval: st.interval, refresher: r}.String()))
	case ask > 0:
		req.AppendHeader(sip.NewHeader("Session-Expires", sessionExpires{interval: ask}.String()))
	default:
		return
	}
	if minSE != minSEFloor { // absent means 90 s (§5); after a 422 it is required (§7.4)
		req.AppendHeader(sip.NewHeader("Min-SE", strconv.FormatInt(int64(minSE/time.Second), 10)))
	}
}

// sessionAnswered takes the 2xx to our INVITE or re-INVITE req (§7.2): with Session-Expires, its
// interval, refresher=uac meaning us (a 2xx without the parameter breaks §9; we then refresh
// ourselves, which keeps the session alive either way). Without it the UAS does not do session
// timers: when req asked for one, we refresh ourselves with the interval asked, "as if the
// Session-Expires header field were in the 2xx response ... with a refresher parameter of
// value 'uac'" (§7.2); otherwise no session timer.
func (c *Call) sessionAnswered(req *sip.Request, res *sip.Response) {
	se, ok, err := sessionExpiresOf(res)
	if err != nil {
		c.log.Warn("2xx with a malformed Session-Expires; taken as absent", "error", err)
	}
	if !ok {
		if asked, hasAsked, _ := sessionExpiresOf(req); hasAsked {
			c.armSession(asked.interval, true)
			return
		}
		c.armSession(0, false)
		return
	}
	c.armSession(se.interval, se.refresher != "uas")
}

// sessionTooSmall checks a received INVITE or re-INVITE's Session-Expires against our Min-SE
// (§8.1 for proxies, §9 for UAS): nil when acceptable, else the 422 to send.
func (p *Phone) sessionTooSmall(req *sip.Request) (*sip.Response, error) {
	se, ok, err := sessionExpiresOf(req)
	if err != nil {
		return nil, err
	}
	if _, err := minSEOf(req); err != nil {
		return nil, err
	}
	// A UAC without Supported: timer cannot act on a 422, so refusing it would only fail the
	// call: its interval is raised to our Min-SE in the 2xx instead (sessionAnswer; RFC 4028
	// erratum 1687, as §8.1 says for proxies).
	if !ok || se.interval >= p.minSE || !supportsTimer(req) {
		return nil, nil
	}
	res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
	res.AppendHeader(sip.NewHeader("Min-SE", strconv.FormatInt(int64(p.minSE/time.Second), 10)))
	return res, nil
}

// sessionAnswer adds the session timer to our 2xx for a received INVITE or re-INVITE (§9) and
// arms it. The request's interval is taken (reduced to Config.SessionExpires when that is
// shorter, never below the request's Min-SE or ours); without one we ask for
// Config.SessionExpires ourselves, or run no timer. The refresher is what the request named,
// else the UAC when it supports timers, else us; Require: timer goes with refresher=uac and
// whenever the UAC supports timers.
func (c *Call) sessionAnswer(req *sip.Request, res *sip.Response) {
	p := c.p
	se, ok, _ := sessionExpiresOf(req) // checked by sessionTooSmall
	// Without Min-SE the request allows 90 s (§5), never less than ours (which is 90 s or more
	// outside this package's tests).
	reqMin, err := minSEOf(req)
	if err != nil || req.GetHeader("Min-SE") == nil {
		reqMin = p.minSE
	}
	uacTimer := supportsTimer(req)
	res.AppendHeader(sip.NewHeader("Supported", "timer"))
	interval := se.interval
	switch {
	case ok && p.cfg.SessionExpires > 0 && p.cfg.SessionExpires < interval:
		interval = max(p.cfg.SessionExpires, reqMin, p.minSE)
	case !ok && p.cfg.SessionExpires > 0:
		interval = max(p.cfg.SessionExpires, reqMin)
	case !ok:
		c.armSession(0, false)
		return
	}
	interval = max(interval, p.minSE) // only a UAC without timers asks for less (sessionTooSmall)
	r := se.refresher
	if r == "" || (r == "uac" && !uacTimer) {
		r = "uas"
		if uacTimer {
			r = "uac"
		}
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", sessionExpires{interval: interval, refresher: r}.String()))
	if r == "uac" || uacTimer {
		// §9: MUST with refresher=uac (the UAC has to act on it), SHOULD with uas when the
		// UAC supports timers.
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	c.armSession(interval, r == "uas")
}

// armSession (re)starts the session timer: the refresher refreshes at half the interval; the
// other side ends the session min(32 s, interval/3) before it expires (§10). interval 0 stops it.
func (c *Call) armSession(interval time.Duration, refresher bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stimer
	if st.t != nil {
		st.t.Stop()
		st.t = nil
	}
	st.gen++
	st.interval, st.refresher = interval, refresher
	if interval == 0 {
		return
	}
	st.expires = time.Now().Add(interval)
	gen := st.gen
	if refresher {
		st.t = time.AfterFunc(interval/2, func() { c.refreshSession(gen) })
	} else {
		st.t = time.AfterFunc(interval-expiryMargin(interval), func() { c.sessionExpired(gen) })
	}
	c.log.Debug("session timer", "interval", interval, "refresher", refresher)
}

// expiryMargin is how long before the session expires the side that does not refresh ends it:
// "the minimum of 32 seconds and one third of the session interval" (§10).
func expiryMargin(interval time.Duration) time.Duration { return min(32*time.Second, interval/3) }

// sessionCurrent reports whether gen is still the armed timer of a live call.
func (c *Call) sessionCurrent(gen uint64) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stimer.gen == gen
}

// refreshSession sends the refresh: a re-INVITE that keeps the current direction, keys and
// codec (§10). Its 2xx re-arms the timer (sessionAnswered). If it fails, the session still
// ends when it expires: a 408 or 481 ends the dialog at once (RFC 3261 §12.2.1.2), anything
// else leaves the end-of-session deadline armed.
func (c *Call) refreshSession(gen uint64) {
	if !c.sessionCurrent(gen) {
		return
	}
	c.mu.Lock()
	dir := c.baseDir
	if c.neg != nil {
		dir = c.neg.Direction
	}
	expires := c.stimer.expires
	c.mu.Unlock()
	ctx, cancel := context.WithDeadline(c.ctx, expires)
	defer cancel()
	err := c.reinvite(ctx, dir)
	if err == nil || errors.Is(err, ErrCallEnded) {
		return
	}
	c.log.Warn("session refresh failed", "error", err)
	var fe *finalError
	if errors.As(err, &fe) && (fe.code == sip.StatusRequestTimeout || fe.code == sip.StatusCallTransactionDoesNotExists) {
		c.sessionExpired(gen)
		return
	}
	c.mu.Lock()
	if c.stimer.gen == gen {
		c.stimer.t = time.AfterFunc(time.Until(expires.Add(-expiryMargin(c.stimer.interval))), func() { c.sessionExpired(gen) })
	}
	c.mu.Unlock()
}

// sessionTimerReason is the Reason of our BYE at expiry (RFC 3326 §2: protocol SIP with the
// status code whose meaning fits, 408 Request Timeout).
const sessionTimerReason = `SIP;cause=408;text="Session timer expired"`

// sessionExpired ends a session nobody refreshed (§10): the call ends By Local with reason
// "session timer expired" at once, and a BYE with Reason: SIP;cause=408 goes in the
// background, since a peer that stopped refreshing may not answer it either.
func (c *Call) sessionExpired(gen uint64) {
	if !c.sessionCurrent(gen) {
		return
	}
	c.log.Warn("session timer expired; sending BYE (RFC 4028 §10)")
	c.byeAndEnd("session timer expired", sip.NewHeader("Reason", sessionTimerReason))
}

// stopSession stops the session timer (the call ended).
func (c *Call) stopSession() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stimer.t != nil {
		c.stimer.t.Stop()
		c.stimer.t = nil
	}
	c.stimer.gen++
}
