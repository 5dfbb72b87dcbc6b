package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imsphone/imsphone/media/audio"
)

// The proof: call and answer as separate imsphone processes, WAV in and WAV out, peer to
// peer and through `imsphone lab` (also a separate process), and the recording checked for the
// tone that was played.

const (
	proofRate = 8000
	proofTone = 440.0
)

// procOutput collects a process's output and lets the test wait for a line.
type procOutput struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newProcOutput() *procOutput { return &procOutput{changed: make(chan struct{})} }

func (p *procOutput) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, err := p.b.Write(b)
	close(p.changed)
	p.changed = make(chan struct{})
	return n, err
}

func (p *procOutput) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.b.String()
}

// proc is an imsphone process the test started; Cleanup interrupts it if still running.
type proc struct {
	name     string
	cmd      *exec.Cmd
	out, err *procOutput
	done     chan struct{}
	code     int
}

func startProc(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: newProcOutput(), err: newProcOutput(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s did not stop on SIGTERM", p.name)
		}
	})
	return p
}

// waitFor waits for re in stdout and returns its last submatch.
func (p *proc) waitFor(t *testing.T, re string, timeout time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(timeout)
	for {
		p.out.mu.Lock()
		m := rx.FindStringSubmatch(p.out.b.String())
		ch := p.out.changed
		p.out.mu.Unlock()
		if m != nil {
			return m[len(m)-1]
		}
		select {
		case <-ch:
		case <-p.done:
			if m := rx.FindStringSubmatch(p.out.String()); m != nil {
				return m[len(m)-1]
			}
			t.Fatalf("%s exited (%d) before %q\nstdout:\n%s\nstderr:\n%s", p.name, p.code, re, p.out, p.err)
		case <-deadline:
			t.Fatalf("%s: no %q within %v\nstdout:\n%s\nstderr:\n%s", p.name, re, timeout, p.out, p.err)
		}
	}
}

// wait waits for the exit and returns the code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.name, timeout, p.out, p.err)
	}
	return -1
}

// toneWAV writes d of a proofTone sine as a 16-bit WAV at 16 kHz, so that the caller also
// resamples to the codec's 8 kHz on the way.
func toneWAV(t *testing.T, d time.Duration) string {
	t.Helper()
	const rate = 16000
	path := filepath.Join(t.TempDir(), "tone.wav")
	w, err := audio.CreateWAV(path, rate)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, int(d.Seconds()*rate))
	if n, err := audio.ReadFull(audio.ToneFor(proofTone, 0.3, rate, d), pcm); n != len(pcm) {
		t.Fatalf("tone: %d of %d samples: %v", n, len(pcm), err)
	}
	if err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// toneIn returns the best SNR of proofTone over half-second blocks of a recorded WAV, and how
// many blocks carry it (SNR ≥ 20 dB).
func toneIn(t *testing.T, path string) (best float64, toneBlocks int) {
	t.Helper()
	src, err := audio.OpenWAV(path, proofRate)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	buf := make([]int16, 4096)
	for {
		n, err := src.Read(buf)
		pcm = append(pcm, buf[:n]...)
		if err != nil {
			break
		}
	}
	best = -audio.MaxSNR
	const block = proofRate / 2
	for i := 0; i+block <= len(pcm); i += block {
		snr := audio.DetectTone(pcm[i:i+block], proofRate, proofTone)
		if snr > best {
			best = snr
		}
		if snr >= 20 {
			toneBlocks++
		}
	}
	return best, toneBlocks
}

func TestProcessesCallAndAnswer(t *testing.T) {
	bin := buildBinary(t) // skips under -short
	wav := toneWAV(t, 3*time.Second)

	check := func(t *testing.T, caller, callee *proc, rec string, mediaUp string) {
		t.Helper()
		if code := caller.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("call exit %d\nstdout:\n%s\nstderr:\n%s", code, caller.out, caller.err)
		}
		if code := callee.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("answer exit %d\nstdout:\n%s\nstderr:\n%s", code, callee.out, callee.err)
		}
		co, ao := caller.out.String(), callee.out.String()
		for _, want := range []string{"answered: 200 OK", mediaUp, "hanging up (end of the played file)", "ended by local: BYE",
			"SRTP auth failures 0, SRTCP auth failures 0"} {
			if !strings.Contains(co, want) {
				t.Errorf("caller: no %q in:\n%s", want, co)
			}
		}
		for _, want := range []string{mediaUp, "ended by remote: BYE", "recorded " + rec, "handled 1 calls"} {
			if !strings.Contains(ao, want) {
				t.Errorf("callee: no %q in:\n%s", want, ao)
			}
		}
		best, blocks := toneIn(t, rec)
		t.Logf("recorded %s: %d half-second blocks with the %g Hz tone, best SNR %.1f dB", filepath.Base(rec), blocks, proofTone, best)
		// 3 s played: at least 2 s of it must have arrived clean (a starved machine may lose
		// the edges).
		if best < 25 || blocks < 4 {
			t.Errorf("recording %s: best SNR %.1f dB, %d tone blocks; want ≥ 25 dB and ≥ 4 blocks", rec, best, blocks)
		}
	}

	t.Run("peer-to-peer SDES", func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "in.wav")
		callee := startProc(t, bin, "answer", "answer", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--security", "sdes", "--auto",
			"--max-calls", "1", "--record", rec, "--log-level", "warn")
		addr := callee.waitFor(t, `waiting for calls on \S+ \((127\.0\.0\.1:\d+),`, 30*time.Second)
		caller := startProc(t, bin, "call", "call", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--security", "sdes", "--play", wav,
			"--log-level", "warn", "sip:bob@"+addr)
		check(t, caller, callee, rec, "media up: AES_CM_128_HMAC_SHA1_80, keys from sdes")
		// Each process warns once that its SDES keys crossed SIP without TLS (RFC 4568 §8.3).
		for _, p := range []*proc{caller, callee} {
			if n := strings.Count(p.err.String(), "SDES keys in SDP over signalling without TLS"); n != 1 {
				t.Errorf("%s: %d warnings about SDES without TLS in:\n%s", p.name, n, p.err)
			}
		}
	})

	t.Run("through imsphone lab", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "lab")
		labProc := startProc(t, bin, "lab", "lab", "--sip-port", "0", "--ub-listen", "127.0.0.1:0", "--kms-listen", "127.0.0.1:0", "--write-configs", dir, "--log-level", "warn")
		labProc.waitFor(t, `(?m)^ready`, 30*time.Second)

		// IMS AKA registration, GBA bootstrap and KMS tickets (mode kms in the written configs).
		t.Run("AKA and KMS", func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "in.wav")
			callee := startProc(t, bin, "answer", "answer", "-c", filepath.Join(dir, "bob.yaml"), "--auto", "--max-calls", "1",
				"--record", rec, "--log-level", "warn")
			callee.waitFor(t, `waiting for calls on`, 30*time.Second)
			caller := startProc(t, bin, "call", "call", "-c", filepath.Join(dir, "alice.yaml"), "--play", wav,
				"--log-level", "warn", "sip:bob@home1.net")
			check(t, caller, callee, rec, "media up: AES_CM_128_HMAC_SHA1_80, keys from mikey")
			if !strings.Contains(caller.out.String(), "registered sip:alice@home1.net") ||
				!strings.Contains(callee.out.String(), "incoming call 1 from sip:alice@home1.net") {
				t.Errorf("identities:\n%s\n%s", caller.out, callee.out)
			}
		})

		// Digest registration (carol) and SDES, the callee's mode overridden by a flag.
		t.Run("Digest and SDES", func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "in.wav")
			callee := startProc(t, bin, "answer", "answer", "--allow-sdes-without-tls", "-c", filepath.Join(dir, "bob.yaml"), "--security", "sdes", "--auto",
				"--max-calls", "1", "--record", rec, "--log-level", "warn")
			callee.waitFor(t, `waiting for calls on`, 30*time.Second)
			caller := startProc(t, bin, "call", "call", "-c", filepath.Join(dir, "carol.yaml"), "--play", wav,
				"--log-level", "warn", "sip:bob@home1.net")
			check(t, caller, callee, rec, "media up: AES_CM_128_HMAC_SHA1_80, keys from sdes")
		})

		labProc.cmd.Process.Signal(os.Interrupt)
		if code := labProc.wait(t, 20*time.Second); code != 0 || !strings.HasSuffix(labProc.out.String(), "stopped\n") {
			t.Errorf("lab: exit %d after SIGINT\n%s\n%s", code, labProc.out, labProc.err)
		}
	})

	t.Run("lab stops on SIGTERM", func(t *testing.T) {
		labProc := startProc(t, bin, "lab", "lab", "--sip-port", "0", "--ub-listen", "", "--kms-listen", "", "--log-level", "warn")
		labProc.waitFor(t, `(?m)^ready`, 30*time.Second)
		labProc.cmd.Process.Signal(syscall.SIGTERM)
		if code := labProc.wait(t, 20*time.Second); code != 0 || !strings.HasSuffix(labProc.out.String(), "stopping\nstopped\n") {
			t.Errorf("lab: exit %d after SIGTERM\n%s\n%s", code, labProc.out, labProc.err)
		}
	})
}
