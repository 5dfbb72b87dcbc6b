package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

// mediaFlags are --play, --record and --duration, shared by call and answer.
type mediaFlags struct {
	play, record string
	duration     time.Duration
}

func (m *mediaFlags) add(cmd *cobra.Command, durationHelp string) {
	fl := cmd.Flags()
	fl.StringVar(&m.play, "play", "", "what to send: tone:FREQ (e.g. tone:440), a WAV file (16-bit PCM, resampled to 8 kHz) or silence")
	fl.StringVar(&m.record, "record", "", "write the received audio to this WAV file (8 kHz 16-bit mono)")
	fl.DurationVar(&m.duration, "duration", 0, durationHelp)
}

func newCallCommand(a *app) *cobra.Command {
	var af accountFlags
	var mf mediaFlags
	var dtmf string
	var kf keyLogFlag
	cmd := &cobra.Command{
		Use:   "call URI",
		Short: "Call a SIP URI, play and record audio, print the call's events and statistics",
		Long: `call places one call to URI. With a registrar configured it registers first (IMS AKA or Digest)
and sends the INVITE through the outbound proxy; without one it calls peer to peer
(sip:bob@127.0.0.1:5064). Media security follows security.mode (or --security): kms (MIKEY-TICKET
through the KMS, keyed by GBA), sdes (a=crypto, no KMS or BSF needed) or none.

It prints one line per event (ringing, answered, media up with the SRTP suite and key source,
DTMF, ended with code and reason) and a final statistics line. The call is hung up after
--duration from the answer, when the played WAV file ends, when the peer hangs up, or on Ctrl-C.

Exit codes: 0 the call was answered and ended normally, 1 it failed (refused, not answered,
unreachable, registration failed), 2 usage or config error, 3 AKA network authentication failure.`,
		Example: `  # peer to peer, no account: SDES-protected call playing a 440 Hz tone for 5 s (SIP over UDP
  # carries the SDES keys in clear text, RFC 4568 §8.3: only with the explicit permission)
  imsphone call --listen 127.0.0.1:5070 --security sdes --allow-sdes-without-tls --play tone:440 --duration 5s sip:bob@127.0.0.1:5064

  # through an IMS core (imsphone lab): register with AKA, KMS keys, play a file, record the answer
  imsphone call -c lab/alice.yaml --play hello.wav --record reply.wav sip:bob@home1.net

  # DTMF after media is up; SRTP keys to a file for Wireshark (secret! see --keylog)
  imsphone call -c configs/peer.yaml --dtmf "12#" --duration 3s --keylog keys.txt sip:bob@127.0.0.1:5064`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("call needs exactly one URI (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkSIPURI(args[0]); err != nil {
				return usageErrorf("call: %v", err)
			}
			if mf.duration < 0 {
				return usageErrorf("--duration must not be negative")
			}
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
			u, err := a.startUE(acc, ueOptions{keyLog: kl.writer()})
			if err != nil {
				return err
			}
			defer u.close()
			return a.runCall(cmd, u, args[0], play, mf, dtmf)
		},
	}
	af.add(cmd)
	mf.add(cmd, "hang up this long after the answer (default: when the played file ends, else until Ctrl-C or the peer hangs up)")
	cmd.Flags().StringVar(&dtmf, "dtmf", "", "DTMF digits (0-9 * # A-D) to send as RFC 4733 events once media is up")
	kf.add(cmd)
	return cmd
}

func (a *app) runCall(cmd *cobra.Command, u *ue, target string, play playSpec, mf mediaFlags, dtmf string) error {
	ctx := cmd.Context()
	out := a.env.Stdout
	if err := a.registerAndPrint(ctx, u); err != nil {
		return err
	}
	src, played, err := play.open()
	if err != nil {
		return err
	}
	opts := client.CallOptions{Source: src}
	rec, err := createRecording(mf.record)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if rec != nil {
		defer rec.Close()
		opts.Sink = rec
	}
	fmt.Fprintf(out, "calling %s from %s (security %s, playing %s)\n", target, uriString(u.phone.AOR()), mustPolicy(u.acc), play)
	start := a.now()
	call, err := u.phone.Dial(ctx, target, opts)
	if err != nil {
		return fmt.Errorf("call %s: %w", target, withSDESHint(err))
	}
	res := a.followCall(ctx, call, callPlan{duration: mf.duration, played: played, dtmf: dtmf})
	if rec != nil {
		rec.Close()
	}
	if !res.answered {
		fmt.Fprintln(out, statsLine(a.now().Sub(start), res.ended.Stats))
		return fmt.Errorf("%w: %s", errCallFailed, endReason(res.ended))
	}
	fmt.Fprintln(out, statsLine(a.now().Sub(res.start), res.ended.Stats))
	if mf.record != "" {
		fmt.Fprintf(out, "recorded %s\n", mf.record)
	}
	return nil
}

func mustPolicy(acc *Account) string {
	p, err := acc.policy()
	if err != nil {
		return "?"
	}
	return p.String()
}

var _ audio.Sink = (*onceSink)(nil)

// withSDESHint names the settings that allow SDES without TLS when a call failed for want of it.
func withSDESHint(err error) error {
	if errors.Is(err, keymgmt.ErrSDESWithoutTLS) {
		return fmt.Errorf("%w; an account may allow it with security.allow_sdes_without_tls or --allow-sdes-without-tls (or use security mode kms)", err)
	}
	return err
}
