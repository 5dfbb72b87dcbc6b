package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/media"
)

// callPlan is what to do with a call once it is answered.
type callPlan struct {
	duration time.Duration   // hang up this long after the answer (0: no limit)
	played   <-chan struct{} // closed when the played WAV ended: hang up shortly after
	dtmf     string          // digits to send once media is up
}

// playTail is how long a call stays up after its WAV ended, so the last frames reach the peer.
const playTail = 300 * time.Millisecond

// callResult is the outcome of one followed call.
type callResult struct {
	answered bool
	ended    client.Event
	start    time.Time // answer time (zero when never answered)
}

// followCall prints the call's events until it ends, and hangs up per plan or when ctx is
// cancelled (Ctrl-C).
func (a *app) followCall(ctx context.Context, call *client.Call, plan callPlan) callResult {
	out := a.env.Stdout
	var res callResult
	var timer <-chan time.Time
	played := plan.played
	var hangup <-chan struct{}
	hungUp := false
	hangErr := make(chan error, 1)
	hang := func(why string) {
		if hungUp {
			return
		}
		hungUp = true
		fmt.Fprintf(out, "hanging up (%s)\n", why)
		go func() {
			hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hangErr <- call.Hangup(hctx)
		}()
	}
	done := ctx.Done()
	events := call.Events()
	for {
		select {
		case <-done:
			done = nil
			hang("interrupted")
		case <-timer:
			timer = nil
			hang("duration reached")
		case <-played:
			played = nil
			if res.answered {
				hangup = afterChan(playTail)
			}
		case <-hangup:
			hangup = nil
			hang("end of the played file")
		case err := <-hangErr:
			if err != nil && !errors.Is(err, client.ErrCallEnded) {
				// The peer does not answer our BYE or CANCEL: give up on it rather than
				// keep the user waiting (Phone.Close tries once more).
				fmt.Fprintf(out, "hang-up failed: %v\n", err)
				res.ended = client.Event{Kind: client.EventEnded, By: client.Local, Reason: "hang-up failed"}
				return res
			}
		case e, ok := <-events:
			if !ok {
				if res.ended.Kind == 0 {
					res.ended = call.Ended()
				}
				return res
			}
			printEvent(out, e)
			switch e.Kind {
			case client.EventAnswered:
				res.answered, res.start = true, a.now()
				if plan.duration > 0 {
					timer = time.After(plan.duration)
				}
				if plan.played != nil && played == nil && hangup == nil {
					// The file ended before the answer (early media is not sent): it played
					// to nobody; end after the tail anyway.
					hangup = afterChan(playTail)
				}
			case client.EventMediaUp:
				if plan.dtmf != "" {
					if err := call.SendDTMF(plan.dtmf); err != nil {
						fmt.Fprintf(out, "dtmf not sent: %v\n", err)
					} else {
						fmt.Fprintf(out, "dtmf sent: %s\n", plan.dtmf)
					}
				}
			case client.EventEnded:
				res.ended = e
			}
		}
	}
}

func afterChan(d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	time.AfterFunc(d, func() { close(c) })
	return c
}

// printEvent writes one line per call event, the lines the README shows.
func printEvent(w io.Writer, e client.Event) {
	switch e.Kind {
	case client.EventRinging:
		fmt.Fprintf(w, "ringing: %d %s\n", e.Code, e.Reason)
	case client.EventAnswered:
		if e.Code != 0 {
			fmt.Fprintf(w, "answered: %d %s\n", e.Code, e.Reason)
		} else {
			fmt.Fprintln(w, "answered")
		}
	case client.EventMediaUp:
		suite := e.Suite
		if suite == "" {
			suite = "RTP (unprotected)"
		}
		fmt.Fprintf(w, "media up: %s, keys from %s\n", suite, e.KeySource)
	case client.EventDTMF:
		fmt.Fprintf(w, "dtmf received: %c\n", e.Digit)
	case client.EventUpdated:
		fmt.Fprintf(w, "updated: direction %s\n", e.Direction)
	case client.EventEnded:
		fmt.Fprintf(w, "ended by %s: %s\n", e.By, endReason(e))
	}
}

func endReason(e client.Event) string {
	var parts []string
	if e.Code != 0 {
		parts = append(parts, fmt.Sprint(e.Code))
	}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	s := strings.Join(parts, " ")
	if s == "" {
		s = "hang-up"
	}
	if e.Warning != "" {
		s += " (" + e.Warning + ")"
	}
	return s
}

// statsLine is the one-line summary of a call (d: its duration, 0 to leave it out).
func statsLine(d time.Duration, st *media.Stats) string {
	if st == nil {
		return "stats: no media"
	}
	dur := ""
	if d > 0 {
		dur = fmt.Sprintf("duration %v, ", d.Round(100*time.Millisecond))
	}
	return fmt.Sprintf("stats: %ssent %d packets, received %d, lost %d (%.2f%%), jitter %v, MOS %.2f, SRTP auth failures %d, SRTCP auth failures %d",
		dur, st.PacketsSent, st.PacketsReceived, st.PacketsLost, 100*st.LossFraction,
		st.Jitter.Round(10*time.Microsecond), st.MOS, st.SRTPAuthFailures, st.SRTCPAuthFailures)
}
