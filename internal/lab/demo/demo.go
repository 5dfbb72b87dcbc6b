package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media"
	"github.com/imsphone/imsphone/media/audio"
)

// Tones of the two directions: different, so a crossed or looped stream shows.
const (
	AliceTone = 440.0
	BobTone   = 1000.0
)

// Options configure a run; zero values take the defaults.
type Options struct {
	// Security is the media security of both UEs, mandatory [kms].
	Security keymgmt.Mode
	// Duration is how long both send audio [3 s]; at least MinDuration, so the audio checks
	// have a few 200 ms blocks past the jitter buffer's start.
	Duration time.Duration
	// Play, if set, is a WAV file alice sends instead of her tone (any rate, mono or stereo,
	// 16-bit PCM).
	Play string
	// Progress, if set, is told each step as it starts ("register alice", ...).
	Progress func(string)
	Rand     io.Reader    // subscriber keys and everything random [crypto/rand]
	Logger   *slog.Logger // the lab's and the phones' logs [discarded]
}

// MinDuration is the shortest audio Run sends.
const MinDuration = time.Second

// ErrFailed is wrapped by Run's error when the call ran but a check failed.
var ErrFailed = errors.New("demo: checks failed")

// party is one UE of the demo.
type party struct {
	name  string
	ue    *lab.UE
	phone *client.Phone
	rec   *recorder
	sent  *recorder // what alice's WAV gave, for the correlation
	tone  float64
}

// run is the state of one Run.
type run struct {
	opts  Options
	rep   *Report
	start time.Time

	mu    sync.Mutex
	steps map[string][]lab.Step // traced UE steps by party
}

// Run performs the demo and returns its report; the error says what failed (the report says it
// too). The report is never nil.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Security == "" {
		opts.Security = keymgmt.ModeKMS
	}
	if opts.Duration <= 0 {
		opts.Duration = 3 * time.Second
	}
	opts.Duration = max(opts.Duration, MinDuration)
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	r := &run{opts: opts, start: time.Now(), steps: map[string][]lab.Step{},
		rep: &Report{Security: string(opts.Security), Suite: "none", Keys: "none"}}
	err := r.do(ctx)
	r.rep.TotalMS = ms(time.Since(r.start))
	if err != nil {
		r.rep.Failures = append([]string{err.Error()}, r.rep.Failures...)
	} else if len(r.rep.Failures) > 0 {
		err = fmt.Errorf("%w: %v", ErrFailed, r.rep.Failures)
	}
	r.rep.OK = err == nil
	return r.rep, err
}

// step records a timed step; it returns err.
func (r *run) step(name, who string, d time.Duration, err error) error {
	s := Step{Name: name, Party: who, MS: ms(d)}
	if err != nil {
		s.Error = err.Error()
	}
	r.rep.Steps = append(r.rep.Steps, s)
	return err
}

// traced adds the UE's traced steps of this name (bootstrap, ticket exchanges) to the report.
func (r *run) traced(who, name, as string) {
	r.mu.Lock()
	var found []lab.Step
	for _, s := range r.steps[who] {
		if s.Name == name {
			found = append(found, s)
		}
	}
	r.mu.Unlock()
	for _, s := range found {
		r.step(as, who, s.Duration, s.Err)
	}
}

func (r *run) do(ctx context.Context) error {
	o := r.opts
	if o.Play != "" {
		// A bad file fails before anything starts.
		src, err := audio.OpenWAV(o.Play, sampleRate)
		if err != nil {
			return fmt.Errorf("--play: %w", err)
		}
		src.(io.Closer).Close()
	}
	o.Progress("start the lab (registrar/proxy, BSF, KMS)")
	// SDES keys cross the signalling in the clear (RFC 4568 §8.3): the sdes mode runs its SIP
	// over TLS, certificates from the lab's CA, so no insecure permission is needed.
	cfg := lab.Config{Domain: "home1.net", BSF: &lab.BSFConfig{}, SIPTLS: o.Security == keymgmt.ModeSDES}
	for _, name := range []string{"alice", "bob"} {
		// Fresh subscriber keys for each run: nothing fixed, nothing printed.
		var k, opc [16]byte
		if _, err := io.ReadFull(o.Rand, k[:]); err != nil {
			return err
		}
		if _, err := io.ReadFull(o.Rand, opc[:]); err != nil {
			return err
		}
		cfg.Subscribers = append(cfg.Subscribers, lab.Subscriber{IMPI: name + "@home1.net", IMPUs: []string{"sip:" + name + "@home1.net"},
			K: hex.EncodeToString(k[:]), OPc: hex.EncodeToString(opc[:])})
	}
	l, err := lab.Start(ctx, cfg, lab.Options{Rand: o.Rand, Logger: o.Logger})
	if err != nil {
		return err
	}
	defer l.Close()
	r.rep.Domain = l.Domain

	alice, err := r.party(l, "alice", AliceTone)
	if err != nil {
		return err
	}
	defer alice.close()
	bob, err := r.party(l, "bob", BobTone)
	if err != nil {
		return err
	}
	defer bob.close()
	r.rep.Caller, r.rep.Callee = alice.ue.IMPU, bob.ue.IMPU

	for _, p := range []*party{alice, bob} {
		o.Progress("register " + p.name + " (IMS AKA)")
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		t0 := time.Now()
		_, err := p.phone.Register(rctx, client.RegisterOptions{Registrar: l.RegistrarURI, USIM: p.ue.USIM, Expires: time.Hour})
		cancel()
		if err := r.step("register", p.name, time.Since(t0), err); err != nil {
			return fmt.Errorf("register %s: %w", p.name, err)
		}
	}
	if o.Security == keymgmt.ModeKMS {
		for _, p := range []*party{alice, bob} {
			o.Progress("bootstrap GBA for " + p.name)
			bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, _, err := p.ue.Bootstrap(bctx)
			cancel()
			r.traced(p.name, lab.StepBootstrap, "bootstrap")
			if err != nil {
				return fmt.Errorf("bootstrap %s: %w", p.name, err)
			}
		}
	}
	return r.call(ctx, alice, bob)
}

// party builds a UE and its phone.
func (r *run) party(l *lab.Lab, name string, tone float64) (*party, error) {
	ue, err := l.NewUE(name+"@home1.net", lab.UEOptions{Rand: r.opts.Rand, Trace: func(s lab.Step) {
		r.mu.Lock()
		r.steps[name] = append(r.steps[name], s)
		r.mu.Unlock()
	}})
	if err != nil {
		return nil, err
	}
	// SIP over UDP, the default: the INVITE with a MIKEY ticket is over the 1300 octets after
	// which RFC 3261 §18.1.1 asks for a congestion-controlled transport, and the phone sends
	// that one over TCP on its own. SDES: over TLS to the lab's TLS listener.
	cfg := client.Config{User: name, AOR: ue.IMPU, OutboundProxy: l.SIPAddr,
		Security: keymgmt.Policy{Mode: r.opts.Security, Requirement: keymgmt.Mandatory}, KMS: ue.MIKEY,
		RTCPMinInterval: time.Second, Rand: r.opts.Rand, Logger: r.opts.Logger}
	if r.opts.Security == keymgmt.ModeSDES {
		tc, err := l.UETLSConfig("127.0.0.1")
		if err != nil {
			ue.Close()
			return nil, err
		}
		cfg.Transport, cfg.TLS, cfg.OutboundProxy = "tls", tc, l.SIPTLSAddr
	}
	p, err := client.NewPhone(cfg)
	if err != nil {
		ue.Close()
		return nil, err
	}
	r.rep.SIPTransport = cfg.Transport
	if cfg.Transport == "" {
		r.rep.SIPTransport = "udp"
	}
	return &party{name: name, ue: ue, phone: p, rec: &recorder{}, tone: tone}, nil
}

func (p *party) close() {
	p.phone.Close()
	p.ue.Close()
}

func (p *party) source(play string) (audio.Source, string, error) {
	if p.name == "alice" && play != "" {
		src, err := audio.OpenWAV(play, sampleRate)
		if err != nil {
			return nil, "", err
		}
		p.sent = &recorder{}
		return tee{src: src, rec: p.sent}, "wav " + play, nil
	}
	return audio.Tone(p.tone, 0.5, sampleRate), fmt.Sprintf("tone %.0f Hz", p.tone), nil
}

// call runs alice → bob: setup, media for Duration, hang-up, then the checks.
func (r *run) call(ctx context.Context, alice, bob *party) error {
	o := r.opts
	srcA, sentA, err := alice.source(o.Play)
	if err != nil {
		return fmt.Errorf("--play: %w", err)
	}
	if c, ok := srcA.(io.Closer); ok {
		defer c.Close()
	}
	srcB, sentB, _ := bob.source("")

	// Bob answers the first call that rings, from his own goroutine as a user would.
	type answer struct {
		c   *client.Call
		err error
	}
	answered := make(chan answer, 1)
	gctx, gcancel := context.WithCancel(ctx)
	defer gcancel()
	go func() {
		select {
		case c := <-bob.phone.Incoming():
			actx, cancel := context.WithTimeout(gctx, 10*time.Second)
			defer cancel()
			answered <- answer{c, c.Answer(actx, client.CallOptions{Source: srcB, Sink: bob.rec})}
		case <-gctx.Done():
			answered <- answer{err: gctx.Err()}
		case <-time.After(15 * time.Second):
			answered <- answer{err: errors.New("bob's phone did not ring")}
		}
	}()

	o.Progress("alice calls bob")
	t0 := time.Now()
	ca, err := alice.phone.Dial(ctx, bob.ue.IMPU, client.CallOptions{Source: srcA, Sink: alice.rec})
	r.traced("alice", lab.StepTicketRequest, "ticket-request")
	if err != nil {
		return r.step("call-setup", "alice", time.Since(t0), fmt.Errorf("call: %w", err))
	}
	up, err := waitMediaUp(ctx, ca, 15*time.Second)
	r.traced("bob", lab.StepTicketResolve, "ticket-resolve")
	if err := r.step("call-setup", "alice", time.Since(t0), err); err != nil {
		return fmt.Errorf("call setup: %w", err)
	}
	ans := <-answered
	if ans.err != nil {
		return fmt.Errorf("bob's answer: %w", ans.err)
	}
	cb := ans.c
	r.rep.Suite, r.rep.Keys = up.Suite, up.KeySource

	o.Progress(fmt.Sprintf("media both ways for %v", o.Duration))
	t1 := time.Now()
	want := int(o.Duration.Seconds() * sampleRate)
	mediaErr := waitSamples(ctx, want, o.Duration+5*time.Second, alice.rec, bob.rec)
	r.step("media", "both", time.Since(t1), mediaErr)

	o.Progress("alice hangs up")
	t2 := time.Now()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	herr := ca.Hangup(hctx)
	cancel()
	endA, endB := waitEnded(ca), waitEnded(cb)
	if herr == nil && endB.By != client.Remote {
		herr = fmt.Errorf("bob's call ended by %s (%d %s), not by alice's BYE", endB.By, endB.Code, endB.Reason)
	}
	r.step("hangup", "alice", time.Since(t2), herr)

	r.rep.Media = []Flow{
		r.flow(alice, bob, sentA, endA.Stats, endB.Stats),
		r.flow(bob, alice, sentB, endB.Stats, endA.Stats),
	}
	if mediaErr != nil {
		r.rep.Failures = append(r.rep.Failures, mediaErr.Error())
	}
	if herr != nil {
		r.rep.Failures = append(r.rep.Failures, "hang-up: "+herr.Error())
	}
	return nil
}

// flow reports from → to as to received it and checks it.
func (r *run) flow(from, to *party, sent string, fs, ts *media.Stats) Flow {
	f := Flow{From: from.name, To: to.name, Direction: from.name + "->" + to.name, Audio: Audio{Sent: sent}}
	fail := func(format string, a ...any) {
		r.rep.Failures = append(r.rep.Failures, f.Direction+": "+fmt.Sprintf(format, a...))
	}
	if fs != nil {
		f.PacketsSent = fs.PacketsSent
	}
	if ts == nil {
		fail("no receive statistics")
	} else {
		f.PacketsReceived, f.PacketsLost, f.LossPercent = ts.PacketsReceived, ts.PacketsLost, round(100*ts.LossFraction, 2)
		f.JitterMS, f.MOS, f.RTCPReceived = ms(ts.Jitter), round(ts.MOS, 2), ts.RTCPReceived
		f.SRTPAuthFailures, f.SRTCPAuthFailures = ts.SRTPAuthFailures, ts.SRTCPAuthFailures
		if f.SRTPAuthFailures != 0 || f.SRTCPAuthFailures != 0 {
			fail("%d SRTP and %d SRTCP authentication failures", f.SRTPAuthFailures, f.SRTCPAuthFailures)
		}
		if f.PacketsReceived == 0 {
			fail("no packets received")
		}
	}
	pcm := to.rec.samples()
	f.Audio.Samples = len(pcm)
	if from.sent != nil {
		c, d, ok := correlate(from.sent.samples(), pcm)
		c = round(c, 3)
		if ok {
			dm := float64(d) * 1000 / sampleRate
			f.Audio.Correlation, f.Audio.DelayMS = &c, &dm
		}
		f.Audio.Matched = ok && c >= minCorrelation
		if !f.Audio.Matched {
			fail("received audio does not match the WAV sent (correlation %.3f, need %.2f)", c, minCorrelation)
		}
		return f
	}
	snr, other, ok := toneSNR(pcm, from.tone, to.tone)
	snr, other = round(snr, 1), round(other, 1)
	f.Audio.SNRdB, f.Audio.OtherSNRdB = &snr, &other
	f.Audio.Matched = ok && snr >= minToneSNR && other <= maxOtherToneSNR
	if !f.Audio.Matched {
		fail("the %.0f Hz tone was not received cleanly (%.1f dB, need %.0f dB; other tone %.1f dB)", from.tone, snr, minToneSNR, other)
	}
	return f
}

// round keeps the report readable; the checks use the same rounded figures it shows.
func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func waitMediaUp(ctx context.Context, c *client.Call, within time.Duration) (client.Event, error) {
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				return client.Event{}, fmt.Errorf("call ended: %v", c.Ended())
			}
			switch e.Kind {
			case client.EventMediaUp:
				return e, nil
			case client.EventEnded:
				return e, fmt.Errorf("call ended: %v", e)
			}
		case <-deadline:
			return client.Event{}, fmt.Errorf("no media within %v", within)
		case <-ctx.Done():
			return client.Event{}, ctx.Err()
		}
	}
}

// waitSamples waits until every recorder holds n samples: audio played, not wall time.
func waitSamples(ctx context.Context, n int, within time.Duration, recs ...*recorder) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, r := range recs {
			done = done && r.len() >= n
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("media: only %d and %d of %d samples arrived within %v", recs[0].len(), recs[1].len(), n, within)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func waitEnded(c *client.Call) client.Event {
	select {
	case <-c.Done():
		return c.Ended()
	case <-time.After(10 * time.Second):
		return client.Event{}
	}
}
