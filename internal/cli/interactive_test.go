package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// interactive runs `imsphone phone` in-process with its stdin on a pipe.
type interactive struct {
	*running
	in *io.PipeWriter
}

func startInteractive(t *testing.T, args ...string) *interactive {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{out: newSyncBuffer(), err: newSyncBuffer(), cancel: cancel, done: make(chan int, 1)}
	env := Env{Stdin: pr, Stdout: r.out, Stderr: r.err, Terminal: true}
	go func() { r.done <- Execute(ctx, env, args) }()
	t.Cleanup(func() {
		pw.Close()
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Errorf("phone did not stop")
		}
	})
	return &interactive{running: r, in: pw}
}

func (p *interactive) send(t *testing.T, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(p.in, line); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
}

// The prompt's own commands, without a call.
func TestInteractiveWithoutCall(t *testing.T) {
	// No subcommand with a terminal: the phone.
	p := startInteractive(t, "--log-level", "warn")
	p.out.waitFor(t, `imsphone phone: sip:imsphone@127\.0\.0\.1:\d+`, 20*time.Second)
	for _, tc := range []struct{ line, want string }{
		{"help", "dtmf DIGITS"},
		{"status", "no call"},
		{"hangup", "error: no call"},
		{"answer", "error: no ringing call"},
		{"dial", "usage: dial URI"},
		{"dial bob@nowhere", "is not a sip: URI"},
		{"dial sip:b@127.0.0.1:9 tone:99999", "tone:FREQ"},
		{"reject 42", "a status 300-699"},
		{"frobnicate", `unknown command "frobnicate"`},
	} {
		p.send(t, tc.line)
		p.out.waitFor(t, "(?s)("+regexpQuote(tc.want)+")", 10*time.Second)
	}
	p.send(t, "quit")
	if code := p.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `.`, `\.`, `+`, `\+`, `*`, `\*`, `?`, `\?`, `(`, `\(`, `)`, `\)`, `[`, `\[`, `]`, `\]`,
		`{`, `\{`, `}`, `\}`, `^`, `\^`, `$`, `\$`, `|`, `\|`)
	return r.Replace(s)
}

// Dial, DTMF, hold, resume, stats, hangup; then an incoming call answered from the prompt.
func TestInteractiveCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	dir := t.TempDir()
	peerRec := filepath.Join(dir, "peer.wav")
	peer := start(t, "", "answer", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--auto", "--max-calls", "1", "--record", peerRec, "--log-level", "warn")
	addr := peer.out.waitFor(t, `waiting for calls on \S+ \((127\.0\.0\.1:\d+)`, 20*time.Second)

	rec := filepath.Join(dir, "phone.wav")
	p := startInteractive(t, "phone", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--play", "tone:440", "--record", rec, "--log-level", "warn")
	myAddr := p.out.waitFor(t, `imsphone phone: \S+ on (127\.0\.0\.1:\d+)`, 20*time.Second)

	p.send(t, "dial sip:bob@"+addr)
	p.out.waitFor(t, "media up: AES_CM_128_HMAC_SHA1_80, keys from sdes", 20*time.Second)
	p.send(t, "dtmf 42")
	p.out.waitFor(t, "dtmf sent: 42", 10*time.Second)
	peer.out.waitFor(t, "dtmf received: 2", 10*time.Second)
	p.send(t, "hold")
	p.out.waitFor(t, "updated: direction sendonly", 10*time.Second)
	p.send(t, "resume")
	p.out.waitFor(t, "updated: direction sendrecv", 10*time.Second)
	p.send(t, "rekey")
	p.out.waitFor(t, "rekeyed: AES_CM_128_HMAC_SHA1_80, keys from sdes", 10*time.Second)
	p.send(t, "stats")
	p.out.waitFor(t, `detail: ssrc=`, 10*time.Second)
	// Let at least 1.5 s of the tone reach the peer before hanging up: the stats command's
	// packet count, polled.
	deadline := time.Now().Add(20 * time.Second)
	for n := 1; ; n++ {
		p.send(t, "stats")
		sent, _ := strconv.Atoi(p.out.waitFor(t, fmt.Sprintf(`(?s)(?:stats: sent \d+ packets.*?){%d}stats: sent (\d+) packets`, n), 10*time.Second))
		if sent >= 75 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d packets sent", sent)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.send(t, "status")
	p.out.waitFor(t, "call with sip:bob@", 10*time.Second)
	p.send(t, "dial sip:bob@"+addr)
	p.out.waitFor(t, "a call is in progress", 10*time.Second)
	p.send(t, "hangup")
	p.out.waitFor(t, `ended by local: BYE\nstats: duration`, 10*time.Second)
	if code := peer.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("peer exit %d", code)
	}
	// The phone's --play reached the peer, before and after hold (sendonly keeps sending).
	if snr, n := recordedTone(t, peerRec, 440); snr < 20 {
		t.Errorf("peer's recording: 440 Hz SNR %.1f dB over %d samples", snr, n)
	}

	// Incoming: a caller rings the phone, which answers from the prompt.
	caller := start(t, "", "call", "--allow-sdes-without-tls", "--duration", "1s", "--play", "tone:1000", "--log-level", "warn", "sip:alice@"+myAddr)
	p.out.waitFor(t, `incoming call from sip:imsphone@127\.0\.0\.1:\d+: "answer" or "reject"`, 20*time.Second)
	p.send(t, "answer")
	p.out.waitFor(t, "media up: AES_CM_128_HMAC_SHA1_80", 20*time.Second)
	p.out.waitFor(t, `ended by remote: BYE`, 20*time.Second)
	if code := caller.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("caller exit %d\n%s", code, caller.out)
	}
	p.in.Close() // end of input quits
	if code := p.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("phone exit %d", code)
	}
	// The second call was recorded into phone-2.wav.
	if snr, n := recordedTone(t, filepath.Join(dir, "phone-2.wav"), 1000); snr < 20 {
		t.Errorf("phone's recording of the incoming call: 1000 Hz SNR %.1f dB over %d samples", snr, n)
	}
}
