package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// Steps a UE reports through UEOptions.Trace.
const (
	StepBootstrap     = "bootstrap"      // GBA Ub run (TS 33.220 §4.5.2)
	StepTicketRequest = "ticket-request" // REQUEST_INIT_PSK → REQUEST_RESP (RFC 6043 §4.2.1)
	StepTicketResolve = "ticket-resolve" // RESOLVE_INIT_PSK → RESOLVE_RESP (RFC 6043 §4.2.3)
)

// Step is one timed exchange of a UE with the BSF or the KMS.
type Step struct {
	Name     string
	Start    time.Time
	Duration time.Duration
	Err      error
}

// UEOptions adjust NewUE. Zero values take the lab's settings.
type UEOptions struct {
	Rand io.Reader        // CSB IDs, RANDs, cnonces [the lab's]
	Now  func() time.Time // [the lab's]
	// KMSURLs replace the lab's KMS address (tests: an unreachable KMS, failover).
	KMSURLs []string
	// Flags are the desired Ticket Policy flags of our ticket requests [D E F G H I: with key
	// forking (RFC 6043 §5.1.1), so each device of a callee gets its own keys].
	Flags mikey.TicketFlags
	// Trace, if set, is told about every bootstrap, ticket request and ticket resolve, with
	// its duration and error; it runs on the exchange's goroutine and must be quick.
	Trace func(Step)
	// Tickets, if set, wraps the KMS client the MIKEY method uses (tests observe resolutions).
	Tickets func(keymgmt.TicketClient) keymgmt.TicketClient
	// HTTPTimeout bounds each Ub and KMS HTTP request [10 s].
	HTTPTimeout time.Duration
}

// UE is everything a user equipment needs to use one lab subscription with KMS-based media
// security: the software USIM (the same one answers IMS AKA at the registrar and Ub at the BSF,
// so its SQN sequence stays one), the Ub client, the NAF key cache, the KMS client keyed from
// it, and the MIKEY-TICKET key-management method for client.Config.KMS.
type UE struct {
	Account Account
	IMPU    string // the default IMPU, the identity of key management
	USIM    *gba.SoftUSIM
	Ub      *gba.UbClient
	NAFKeys *gba.NAFKeys
	KMS     *kms.Client
	MIKEY   *keymgmt.MIKEY

	naf gba.NAFID
	hc  *http.Client
}

// String describes the UE without keys.
func (u *UE) String() string {
	return fmt.Sprintf("lab.UE{IMPI: %q, IMPU: %q}", u.Account.IMPI, u.IMPU)
}

// NewUE builds the UE side of the subscriber impi, which must be an AKA subscriber of a lab
// with a BSF and a KMS. Close releases it.
func (l *Lab) NewUE(impi string, o UEOptions) (*UE, error) {
	acc, ok := l.Account(impi)
	if !ok {
		return nil, fmt.Errorf("lab: no subscriber %q", impi)
	}
	if !acc.AKA {
		return nil, fmt.Errorf("lab: subscriber %q has no USIM (Digest only): it cannot bootstrap GBA", impi)
	}
	if l.KMSURL == "" || l.UbURL == "" {
		return nil, errors.New("lab: NewUE needs the BSF and the KMS")
	}
	if o.Rand == nil {
		o.Rand = l.rand
	}
	if o.Now == nil {
		o.Now = l.now
	}
	if len(o.KMSURLs) == 0 {
		o.KMSURLs = []string{l.KMSURL}
	}
	if o.Flags == 0 {
		o.Flags = mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagG | mikey.FlagH | mikey.FlagI
	}
	if o.HTTPTimeout == 0 {
		o.HTTPTimeout = 10 * time.Second
	}
	trace := o.Trace
	if trace == nil {
		trace = func(Step) {}
	}
	u := &UE{Account: acc, IMPU: acc.IMPUs[0], naf: l.KMSNAFID()}
	defer func() {
		// acc is a copy the UE keeps only for its identities.
		clear(u.Account.K)
		clear(u.Account.OPc)
		u.Account.K, u.Account.OPc = nil, nil
	}()
	var err error
	amf := acc.AMF
	if u.USIM, err = gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: acc.IMPI, K: acc.K, OPc: acc.OPc, AMF: amf[:]}); err != nil {
		return nil, fmt.Errorf("lab: USIM of %q: %w", impi, err)
	}
	hc := &http.Client{Timeout: o.HTTPTimeout}
	u.hc = hc
	u.Ub = &gba.UbClient{BSFURL: l.UbURL, USIM: u.USIM, Realm: l.BSFRealm, HTTPClient: hc, Rand: o.Rand, Clock: o.Now,
		Logger: l.log.With("ue", impi)}
	if u.NAFKeys, err = gba.NewNAFKeys(gba.NAFKeysConfig{Bootstrapper: tracedBootstrapper{u.Ub, o.Now, trace}, Clock: o.Now,
		Logger: l.log.With("ue", impi)}); err != nil {
		u.USIM.Close()
		return nil, fmt.Errorf("lab: NAF keys of %q: %w", impi, err)
	}
	if u.KMS, err = kms.NewClient(kms.ClientConfig{URLs: o.KMSURLs, FQDN: l.KMSFQDN, Keys: u.NAFKeys.Key,
		Invalidate: u.NAFKeys.Invalidate, HTTPClient: hc, Now: o.Now, Rand: o.Rand, PRF: mikey.PRFHMACSHA256,
		Skew: l.KMSSkew}); err != nil {
		u.Close()
		return nil, fmt.Errorf("lab: KMS client of %q: %w", impi, err)
	}
	var tc keymgmt.TicketClient = tracedTickets{u.KMS, o.Now, trace}
	if o.Tickets != nil {
		tc = o.Tickets(tc)
	}
	if u.MIKEY, err = keymgmt.NewMIKEY(keymgmt.MIKEYConfig{KMS: tc, IMPU: u.IMPU, Flags: o.Flags, Now: o.Now, Rand: o.Rand,
		Window: mikey.Window{Skew: l.KMSSkew}}); err != nil {
		u.Close()
		return nil, fmt.Errorf("lab: MIKEY method of %q: %w", impi, err)
	}
	return u, nil
}

// Bootstrap makes sure the UE holds a B-TID and the KMS's Ks_NAF, bootstrapping if needed
// (TS 33.220 §4.5.2), and returns the B-TID and its key lifetime. The key stays in NAFKeys.
func (u *UE) Bootstrap(ctx context.Context) (btid string, lifetime time.Time, err error) {
	if _, err := u.NAFKeys.KeyFor(ctx, u.naf); err != nil {
		return "", time.Time{}, err
	}
	btid, lifetime, _ = u.NAFKeys.Current()
	return btid, lifetime, nil
}

// Close zeroes the UE's keys (NAF keys, USIM) and drops its idle HTTP connections.
func (u *UE) Close() error {
	u.hc.CloseIdleConnections()
	err := u.NAFKeys.Close()
	return errors.Join(err, u.USIM.Close())
}

// tracedBootstrapper times each Ub run.
type tracedBootstrapper struct {
	b     gba.Bootstrapper
	now   func() time.Time
	trace func(Step)
}

func (t tracedBootstrapper) Bootstrap(ctx context.Context) (*gba.Bootstrap, error) {
	start := t.now()
	b, err := t.b.Bootstrap(ctx)
	t.trace(Step{Name: StepBootstrap, Start: start, Duration: t.now().Sub(start), Err: err})
	return b, err
}

// tracedTickets times each KMS exchange.
type tracedTickets struct {
	c     keymgmt.TicketClient
	now   func() time.Time
	trace func(Step)
}

func (t tracedTickets) RequestTicket(ctx context.Context, r kms.TicketRequest) (*kms.Ticket, error) {
	start := t.now()
	tk, err := t.c.RequestTicket(ctx, r)
	t.trace(Step{Name: StepTicketRequest, Start: start, Duration: t.now().Sub(start), Err: err})
	return tk, err
}

func (t tracedTickets) ResolveTicket(ctx context.Context, responder *mikey.IDR, ticket *mikey.TICKET) (*kms.Resolution, error) {
	start := t.now()
	r, err := t.c.ResolveTicket(ctx, responder, ticket)
	t.trace(Step{Name: StepTicketResolve, Start: start, Duration: t.now().Sub(start), Err: err})
	return r, err
}
