package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requirePeer returns the path of an external program, skipping the test when it is missing
// (failing instead when IMSPHONE_REQUIRE_PEERS=1, as CI sets it).
func requirePeer(t testing.TB, prog string) string {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("IMSPHONE_REQUIRE_PEERS") == "1" {
			t.Fatalf("peer %s missing and IMSPHONE_REQUIRE_PEERS=1: %v", prog, err)
		}
		t.Skipf("peer %s not installed", prog)
	}
	return path
}

// realTime skips tests that run peers in real time under -short.
func realTime(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("real time")
	}
}

// freeUDPPort and freeTCPPort return a loopback port that was free a moment ago. A peer
// started on it right away gets it unless another process races for the same ephemeral port;
// the kernel hands out ephemeral ports round-robin, so that takes a wrap-around of the range.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// freeSIPPort returns a port free for both UDP and TCP (baresip binds both).
func freeSIPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := freeUDPPort(t)
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no port free for UDP and TCP")
	return 0
}

func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freePortRange finds n consecutive free UDP ports (for a peer's RTP range) below the
// ephemeral range, starting at an even port, probing random bases.
func freePortRange(t testing.TB, n int) (lo, hi int) {
	t.Helper()
	for try := 0; try < 200; try++ {
		base := 20000 + 2*rand.IntN(6000)
		var held []net.PacketConn
		ok := true
		for p := base; p < base+n; p++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base, base + n - 1
		}
	}
	t.Fatalf("no %d free consecutive UDP ports", n)
	return 0, 0
}

// waitUDPBound waits until some socket is bound to the UDP port (read from /proc/net/udp, so
// that probing cannot steal the port from the peer that is binding it).
func waitUDPBound(p *peerProc, port int, within time.Duration) error {
	want := fmt.Sprintf(":%04X ", port)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(l); len(f) > 1 && strings.HasSuffix(f[1]+" ", want) {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before binding UDP port %d", p.name, port)
		default:
		}
	}
	return fmt.Errorf("%s: UDP port %d not bound within %v", p.name, port, within)
}

// peerProc is a running external program whose output is kept (and written to a log file in
// the test's directory) and can be waited on line by line.
type peerProc struct {
	name string
	cmd  *exec.Cmd
	log  string

	mu     sync.Mutex
	out    bytes.Buffer
	change chan struct{} // closed and replaced on every new line
	done   chan struct{}
	err    error
}

// startPeer runs prog with args in dir; the process (and its process group) is killed in
// t.Cleanup, and its output is attached to the test log when the test fails.
func startPeer(t testing.TB, dir, prog string, args ...string) *peerProc {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &peerProc{name: filepath.Base(prog), cmd: cmd, change: make(chan struct{}), done: make(chan struct{}),
		log: filepath.Join(dir, filepath.Base(prog)+".log")}
	lf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prog, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(lf, line)
			p.mu.Lock()
			p.out.WriteString(line)
			p.out.WriteByte('\n')
			close(p.change)
			p.change = make(chan struct{})
			p.mu.Unlock()
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		lf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s output (%s) ---\n%s", p.name, p.log, tail(p.output(), 12000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}

// signal is what stop sends first: SIGINT for tshark (dumpcap flushes the capture), else
// SIGTERM.
func (p *peerProc) signal() syscall.Signal {
	if p.name == "tshark" {
		return syscall.SIGINT
	}
	return syscall.SIGTERM
}

// stop ends the process group: SIGTERM (SIGINT), then SIGKILL after 3 s.
func (p *peerProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, p.signal())
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// wait waits for the process to exit on its own and returns its error (nil for status 0).
func (p *peerProc) wait(within time.Duration) error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-time.After(within):
		return fmt.Errorf("%s still running after %v", p.name, within)
	}
}

func (p *peerProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits until the output matches re and returns the first match's submatches.
func (p *peerProc) waitOutput(re *regexp.Regexp, within time.Duration) ([]string, error) {
	deadline := time.After(within)
	for {
		p.mu.Lock()
		m := re.FindStringSubmatch(p.out.String())
		ch := p.change
		p.mu.Unlock()
		if m != nil {
			return m, nil
		}
		select {
		case <-ch:
		case <-p.done:
			p.mu.Lock()
			m := re.FindStringSubmatch(p.out.String())
			p.mu.Unlock()
			if m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("%s exited (%v) before output matched %q", p.name, p.err, re)
		case <-deadline:
			return nil, fmt.Errorf("%s: no output matching %q within %v", p.name, re, within)
		}
	}
}

// count returns how many times re matches the output so far.
func (p *peerProc) count(re *regexp.Regexp) int {
	return len(re.FindAllStringIndex(p.output(), -1))
}

// peerVersion runs a program's version option and returns the first line matching re's group 1.
func peerVersion(ctx context.Context, re *regexp.Regexp, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, prog, args...).CombinedOutput()
	m := re.FindSubmatch(out)
	if m == nil {
		return "", errors.New("no version in output of " + prog + " " + strings.Join(args, " "))
	}
	return string(m[1]), nil
}
