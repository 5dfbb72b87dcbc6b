package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/client"
)

func newAnswerCommand(a *app) *cobra.Command {
	var af accountFlags
	var mf mediaFlags
	var kf keyLogFlag
	var auto bool
	var reject, maxCalls int
	cmd := &cobra.Command{
		Use:   "answer",
		Short: "Wait for calls and answer (or reject) them, play and record audio, print events",
		Long: `answer registers the account (when it has a registrar) or just listens (peer to peer, on --listen),
and handles incoming calls one after the other: with --auto it answers each at once, with --reject
CODE it refuses each with that SIP status (e.g. 486 Busy Here, 603 Decline), otherwise it asks on
stdin (Enter or "y" answers, "n" declines with 603). Offers that fail the security policy are
refused with 488 before ringing. Each answered call plays --play and records into --record (the
second call into NAME-2.wav, and so on) until the caller hangs up, --duration passes, or Ctrl-C.

After --max-calls calls (0: no limit) it de-registers and exits.

Exit codes: 0 done (max-calls reached or interrupted), 1 registration failed or a call could not
be answered, 2 usage or config error, 3 AKA network authentication failure.`,
		Example: `  # peer to peer: answer one SDES call on 127.0.0.1:5064 and record it (SIP over UDP carries
  # the SDES keys in clear text, RFC 4568 §8.3: only with the explicit permission)
  imsphone answer --listen 127.0.0.1:5064 --security sdes --allow-sdes-without-tls --auto --max-calls 1 --record in.wav

  # registered in imsphone lab, answering with a tone, hanging up after 10 s
  imsphone answer -c lab/bob.yaml --auto --play tone:1000 --duration 10s

  # a busy line for testing the caller
  imsphone answer -c configs/bob.yaml --reject 486`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("reject") && (reject < 300 || reject > 699) {
				return usageErrorf("--reject %d: want a final failure status 300-699", reject)
			}
			if auto && cmd.Flags().Changed("reject") {
				return usageErrorf("--auto and --reject exclude each other")
			}
			if maxCalls < 0 || mf.duration < 0 {
				return usageErrorf("--max-calls and --duration must not be negative")
			}
			play, err := parsePlay(mf.play)
			if err != nil {
				return err
			}
			if play.file != "" {
				if _, err := os.Stat(play.file); err != nil {
					return usageErrorf("--play: %v", err)
				}
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
			u, err := a.startUE(acc, ueOptions{keyLog: kl.writer()})
			if err != nil {
				return err
			}
			defer u.close()
			ans := answerer{auto: auto, maxCalls: maxCalls, play: play, media: mf}
			if cmd.Flags().Changed("reject") {
				ans.reject = reject
			}
			return a.runAnswer(cmd.Context(), u, ans)
		},
	}
	af.add(cmd)
	mf.add(cmd, "hang up each answered call this long after answering (default: when the caller hangs up)")
	kf.add(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&auto, "auto", false, "answer every call at once")
	fl.IntVar(&reject, "reject", 0, "refuse every call with this SIP status (e.g. 486, 603)")
	fl.IntVar(&maxCalls, "max-calls", 0, "exit after this many calls (0: until Ctrl-C)")
	return cmd
}

// answerer is how answer handles each incoming call.
type answerer struct {
	auto     bool
	reject   int // 0: do not reject
	maxCalls int
	play     playSpec
	media    mediaFlags
}

func (a *app) runAnswer(ctx context.Context, u *ue, ans answerer) error {
	out := a.env.Stdout
	if err := a.registerAndPrint(ctx, u); err != nil {
		return err
	}
	fmt.Fprintf(out, "waiting for calls on %s (%s, security %s)\n", uriString(u.phone.URI()), u.phone.Addr(), mustPolicy(u.acc))
	lines := make(chan string)
	if !ans.auto && ans.reject == 0 {
		go func() {
			sc := bufio.NewScanner(a.env.Stdin)
			for sc.Scan() {
				select {
				case lines <- sc.Text():
				case <-ctx.Done():
					return
				}
			}
			close(lines)
		}()
	}
	handled, failed := 0, 0
	for ans.maxCalls == 0 || handled < ans.maxCalls {
		var call *client.Call
		select {
		case <-ctx.Done():
			return a.answerDone(handled, failed)
		case call = <-u.phone.Incoming():
		}
		handled++
		fmt.Fprintf(out, "incoming call %d from %s\n", handled, call.Remote)
		if err := a.handleIncoming(ctx, call, ans, handled, lines); err != nil {
			failed++
			fmt.Fprintf(out, "call %d: %v\n", handled, err)
		}
	}
	return a.answerDone(handled, failed)
}

func (a *app) answerDone(handled, failed int) error {
	fmt.Fprintf(a.env.Stdout, "handled %d calls\n", handled)
	if failed > 0 {
		return fmt.Errorf("%d of %d calls could not be answered", failed, handled)
	}
	return nil
}

// handleIncoming answers, rejects or asks, then follows an answered call to its end.
func (a *app) handleIncoming(ctx context.Context, call *client.Call, ans answerer, n int, lines chan string) error {
	out := a.env.Stdout
	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	switch {
	case ans.reject != 0:
		if err := call.Reject(rctx, ans.reject, reasonPhrase(ans.reject)); err != nil {
			return fmt.Errorf("reject: %w", err)
		}
		fmt.Fprintf(out, "rejected with %d\n", ans.reject)
		return nil
	case !ans.auto:
		fmt.Fprint(out, "answer? [Y/n] ")
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-call.Done():
			fmt.Fprintf(out, "\nended by %s: %s\n", call.Ended().By, endReason(call.Ended()))
			return nil
		case <-ctx.Done():
		}
		if l := strings.ToLower(strings.TrimSpace(line)); !ok || (l != "" && l != "y" && l != "yes") {
			if err := call.Reject(rctx, 603, "Decline"); err != nil {
				return fmt.Errorf("decline: %w", err)
			}
			fmt.Fprintln(out, "declined with 603")
			return nil
		}
		fmt.Fprintln(out, "answering")
	}
	// A played file that ends does not end an answered call: the caller decides.
	src, _, err := ans.play.open()
	if err != nil {
		return err
	}
	opts := client.CallOptions{Source: src}
	path := ""
	if ans.media.record != "" {
		path = recordPath(ans.media.record, n)
		rec, err := createRecording(path)
		if err != nil {
			call.Reject(rctx, 500, "Server Internal Error")
			return err
		}
		defer rec.Close()
		opts.Sink = rec
	}
	start := a.now()
	if err := call.Answer(rctx, opts); err != nil {
		if opts.Sink != nil {
			opts.Sink.Close()
		}
		return fmt.Errorf("answer: %w", err)
	}
	res := a.followCall(ctx, call, callPlan{duration: ans.media.duration})
	if opts.Sink != nil {
		opts.Sink.Close()
	}
	if !res.start.IsZero() {
		start = res.start
	}
	fmt.Fprintln(out, statsLine(a.now().Sub(start), res.ended.Stats))
	if path != "" {
		fmt.Fprintf(out, "recorded %s\n", path)
	}
	return nil
}

// reasonPhrase is RFC 3261 §21's reason phrase of the failure statuses a tester rejects with.
func reasonPhrase(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	case 604:
		return "Does Not Exist Anywhere"
	case 606:
		return "Not Acceptable"
	}
	switch code / 100 {
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	}
	return "Global Failure"
}
