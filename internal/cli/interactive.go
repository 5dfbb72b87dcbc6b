package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/client"
)

const interactiveHelp = `commands:
  dial URI [PLAY]    call URI, sending PLAY (tone:440, a WAV file; default: the --play flag)
  answer             answer the ringing incoming call
  reject [CODE]      refuse the ringing call (default 603 Decline)
  hangup             end the current call
  hold | resume      put the current call on hold (re-INVITE sendonly) and take it off again
  rekey              new SRTP keys for the current call (re-INVITE; the old keys stay if refused)
  dtmf DIGITS        send DTMF (0-9 * # A-D) as RFC 4733 events
  stats              media statistics of the current call
  status             account and call state
  help               this text
  quit               hang up, de-register and exit`

func newPhoneCommand(a *app) *cobra.Command {
	var af accountFlags
	var mf mediaFlags
	var kf keyLogFlag
	cmd := &cobra.Command{
		Use:   "phone",
		Short: "Interactive softphone: a line-oriented prompt to dial, answer, hold, send DTMF, show stats",
		Long: `phone runs the account as an interactive softphone: it registers (if the account has a registrar)
or listens peer to peer, then reads one command per line from stdin and prints call events as they
happen. imsphone without a subcommand on a terminal runs phone with the default account (peer to
peer on 127.0.0.1, SDES).

` + interactiveHelp + `

Incoming calls ring until answered or rejected; one call at a time (a second caller gets 486).
Exit codes: 0 quit or end of input, 1 registration failed, 2 usage or config error.`,
		Example: `  imsphone phone -c configs/alice.yaml
  imsphone phone --listen 127.0.0.1:5070 --play tone:440
  > dial sip:bob@127.0.0.1:5064
  > dtmf 123#
  > hold
  > resume
  > stats
  > hangup
  > quit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPhoneCommand(cmd, &af, &mf, &kf)
		},
	}
	af.add(cmd)
	cmd.Flags().StringVar(&mf.play, "play", "", "what calls send: tone:FREQ, a WAV file or silence (dial URI PLAY overrides it per call)")
	cmd.Flags().StringVar(&mf.record, "record", "", "record each call's received audio (second call NAME-2.wav, ...)")
	kf.add(cmd)
	return cmd
}

func (a *app) runPhoneCommand(cmd *cobra.Command, af *accountFlags, mf *mediaFlags, kf *keyLogFlag) error {
	play, err := parsePlay(mf.play)
	if err != nil {
		return err
	}
	acc, err := af.load(cmd, false)
	if err != nil {
		return err
	}
	kl, err := kf.open(a)
	if err != nil {
		return err
	}
	defer kl.Close()
	u, err := a.startUE(acc, ueOptions{keyLog: kl.writer(), queue: 1})
	if err != nil {
		return err
	}
	defer u.close()
	return a.runInteractive(cmd.Context(), u, play, mf.record)
}

// lockedWriter serialises the prompt's output and the event printers'.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// session is the interactive phone's state: at most one current call and one ringing call.
type session struct {
	a       *app
	u       *ue
	out     io.Writer
	play    playSpec
	record  string
	mu      sync.Mutex
	current *client.Call
	ringing *client.Call
	calls   int
	// followers are the goroutines printing call events; exit waits for them.
	followers sync.WaitGroup
}

func (a *app) runInteractive(ctx context.Context, u *ue, play playSpec, record string) error {
	out := &lockedWriter{w: a.env.Stdout}
	ia := *a
	ia.env.Stdout = out
	if err := ia.registerAndPrint(ctx, u); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{a: &ia, u: u, out: out, play: play, record: record}
	defer s.followers.Wait()
	fmt.Fprintf(out, "imsphone phone: %s on %s (security %s); \"help\" lists the commands\n", uriString(u.phone.AOR()), u.phone.Addr(), mustPolicy(u.acc))
	go s.watchIncoming(ctx)

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(a.env.Stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		fmt.Fprint(out, "> ")
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			s.hangupAll()
			return nil
		case line, ok := <-lines:
			if !ok {
				fmt.Fprintln(out)
				s.hangupAll()
				return nil
			}
			if quit := s.exec(ctx, line); quit {
				s.hangupAll()
				return nil
			}
		}
	}
}

func (s *session) watchIncoming(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-s.u.phone.Incoming():
			if !ok {
				return
			}
			s.mu.Lock()
			busy := s.current != nil || s.ringing != nil
			if !busy {
				s.ringing = c
			}
			s.mu.Unlock()
			if busy {
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c.Reject(rctx, 486, "Busy Here")
				cancel()
				fmt.Fprintf(s.out, "\nincoming call from %s refused: busy (486)\n", c.Remote)
				continue
			}
			fmt.Fprintf(s.out, "\nincoming call from %s: \"answer\" or \"reject\"\n", c.Remote)
			go s.watchRinging(c)
		}
	}
}

// watchRinging clears a ringing call the caller gave up on.
func (s *session) watchRinging(c *client.Call) {
	<-c.Done()
	s.mu.Lock()
	wasRinging := s.ringing == c
	if wasRinging {
		s.ringing = nil
	}
	s.mu.Unlock()
	if wasRinging {
		fmt.Fprintf(s.out, "\nmissed call from %s: %s\n", c.Remote, endReason(c.Ended()))
	}
}

// follow prints a call's events until it ends and then clears it.
func (s *session) follow(c *client.Call, start time.Time) {
	var answered time.Time
	for e := range c.Events() {
		if e.Kind == client.EventAnswered {
			answered = time.Now()
		}
		var b strings.Builder
		printEvent(&b, e)
		if b.Len() > 0 {
			fmt.Fprint(s.out, "\n"+b.String())
		}
		if e.Kind == client.EventEnded {
			if !answered.IsZero() {
				start = answered
			}
			fmt.Fprintln(s.out, statsLine(time.Since(start), e.Stats))
		}
	}
	s.mu.Lock()
	if s.current == c {
		s.current = nil
	}
	s.mu.Unlock()
}

func (s *session) cur() *client.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// exec runs one command line and reports whether to quit.
func (s *session) exec(ctx context.Context, line string) bool {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	out := s.out
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errf := func(format string, args ...any) { fmt.Fprintf(out, "error: "+format+"\n", args...) }
	noCall := func() *client.Call {
		c := s.cur()
		if c == nil {
			errf("no call")
		}
		return c
	}
	switch cmd, args := strings.ToLower(f[0]), f[1:]; cmd {
	case "help", "?":
		fmt.Fprintln(out, interactiveHelp)
	case "quit", "exit", "q":
		return true
	case "dial", "call":
		if len(args) < 1 || len(args) > 2 {
			errf("usage: dial URI [PLAY]")
			return false
		}
		if err := checkSIPURI(args[0]); err != nil {
			errf("%v", err)
			return false
		}
		play := s.play
		if len(args) == 2 {
			p, err := parsePlay(args[1])
			if err != nil {
				errf("%v", err)
				return false
			}
			play = p
		}
		s.dial(ctx, args[0], play)
	case "answer", "a":
		s.answer(actx)
	case "reject":
		code := 603
		if len(args) == 1 {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 300 || n > 699 {
				errf("reject CODE: a status 300-699")
				return false
			}
			code = n
		}
		s.mu.Lock()
		c := s.ringing
		s.ringing = nil
		s.mu.Unlock()
		if c == nil {
			errf("no ringing call")
			return false
		}
		if err := c.Reject(actx, code, reasonPhrase(code)); err != nil {
			errf("reject: %v", err)
			return false
		}
		fmt.Fprintf(out, "rejected with %d\n", code)
	case "hangup", "h", "bye":
		if c := noCall(); c != nil {
			if err := c.Hangup(actx); err != nil && !errors.Is(err, client.ErrCallEnded) {
				errf("hangup: %v", err)
			}
		}
	case "hold":
		if c := noCall(); c != nil {
			if err := c.Hold(actx); err != nil {
				errf("hold: %v", err)
			}
		}
	case "resume", "unhold":
		if c := noCall(); c != nil {
			if err := c.Resume(actx); err != nil {
				errf("resume: %v", err)
			}
		}
	case "rekey":
		// New SRTP keys by re-INVITE (RFC 4568 §7.1.4; a new KMS ticket with MIKEY); on
		// failure the call keeps its keys.
		if c := noCall(); c != nil {
			if err := c.Rekey(actx); err != nil {
				errf("rekey: %v", err)
				return false
			}
			if k := c.Keys(); k != nil {
				fmt.Fprintf(out, "rekeyed: %s, keys from %s\n", k.Suite, k.Method)
			}
		}
	case "dtmf":
		if len(args) != 1 {
			errf("usage: dtmf DIGITS")
			return false
		}
		if c := noCall(); c != nil {
			if err := c.SendDTMF(args[0]); err != nil {
				errf("dtmf: %v", err)
			} else {
				fmt.Fprintf(out, "dtmf sent: %s\n", args[0])
			}
		}
	case "stats":
		if c := noCall(); c != nil {
			st, ok := c.Stats()
			if !ok {
				fmt.Fprintln(out, "stats: no media yet")
				return false
			}
			fmt.Fprintln(out, statsLine(0, &st))
			fmt.Fprintf(out, "  detail: %v\n", st)
		}
	case "status":
		fmt.Fprintf(out, "account %s, contact %s, security %s", uriString(s.u.phone.AOR()), uriString(s.u.phone.URI()), mustPolicy(s.u.acc))
		if s.u.reg != nil {
			fmt.Fprintf(out, ", registered at %s (expires %v)", s.u.acc.Registrar, s.u.reg.Expires())
		}
		fmt.Fprintln(out)
		s.mu.Lock()
		if s.current != nil {
			fmt.Fprintf(out, "call with %s\n", s.current.Remote)
		}
		if s.ringing != nil {
			fmt.Fprintf(out, "ringing: %s\n", s.ringing.Remote)
		}
		if s.current == nil && s.ringing == nil {
			fmt.Fprintln(out, "no call")
		}
		s.mu.Unlock()
	default:
		errf("unknown command %q (\"help\" lists them)", f[0])
	}
	return false
}

func (s *session) callOptions(play playSpec) (client.CallOptions, error) {
	src, _, err := play.open()
	if err != nil {
		return client.CallOptions{}, err
	}
	opts := client.CallOptions{Source: src}
	if s.record != "" {
		s.calls++
		rec, err := createRecording(recordPath(s.record, s.calls))
		if err != nil {
			return client.CallOptions{}, err
		}
		opts.Sink = rec
	}
	return opts, nil
}

func (s *session) dial(ctx context.Context, target string, play playSpec) {
	s.mu.Lock()
	busy := s.current != nil
	s.mu.Unlock()
	if busy {
		fmt.Fprintln(s.out, "error: a call is in progress; hang up first")
		return
	}
	opts, err := s.callOptions(play)
	if err != nil {
		fmt.Fprintf(s.out, "error: %v\n", err)
		return
	}
	fmt.Fprintf(s.out, "calling %s (playing %s)\n", target, play)
	start := time.Now()
	// The call outlives this command line; Hangup ends it.
	c, err := s.u.phone.Dial(context.WithoutCancel(ctx), target, opts)
	if err != nil {
		if opts.Sink != nil {
			opts.Sink.Close()
		}
		fmt.Fprintf(s.out, "error: dial: %v\n", withSDESHint(err))
		return
	}
	s.mu.Lock()
	s.current = c
	s.mu.Unlock()
	s.followers.Add(1)
	go func() {
		defer s.followers.Done()
		s.follow(c, start)
	}()
}

func (s *session) answer(ctx context.Context) {
	s.mu.Lock()
	c := s.ringing
	busy := s.current != nil
	if c != nil && !busy {
		s.ringing = nil
	}
	s.mu.Unlock()
	switch {
	case c == nil:
		fmt.Fprintln(s.out, "error: no ringing call")
		return
	case busy:
		fmt.Fprintln(s.out, "error: a call is in progress; hang up first")
		return
	}
	opts, err := s.callOptions(s.play)
	if err != nil {
		fmt.Fprintf(s.out, "error: %v\n", err)
		return
	}
	if err := c.Answer(ctx, opts); err != nil {
		if opts.Sink != nil {
			opts.Sink.Close()
		}
		fmt.Fprintf(s.out, "error: answer: %v\n", err)
		return
	}
	s.mu.Lock()
	s.current = c
	s.mu.Unlock()
	s.followers.Add(1)
	go func() {
		defer s.followers.Done()
		s.follow(c, time.Now())
	}()
}

// hangupAll ends the current and the ringing call before exit.
func (s *session) hangupAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mu.Lock()
	cur, ring := s.current, s.ringing
	s.mu.Unlock()
	if ring != nil {
		ring.Reject(ctx, 603, "Decline")
	}
	if cur != nil {
		cur.Hangup(ctx)
		<-cur.Done()
	}
}
