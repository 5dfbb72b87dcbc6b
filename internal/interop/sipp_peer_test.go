package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sipp is one SIPp run of a scenario from testdata/sipp.
type sipp struct {
	proc *peerProc
	port int
	dir  string
}

// startSipp runs a scenario (testdata/sipp/NAME.xml, with each "{{KEY}}" of subst replaced)
// for one call: SIPp on a free loopback port; remote ("" for a UAS) is where a UAC sends. The
// scenario's messages and log actions go to files in the test's directory.
func startSipp(t testing.TB, name, remote string, subst map[string]string, args ...string) *sipp {
	t.Helper()
	return startSippPort(t, name, remote, freeUDPPort(t), subst, args...)
}

func startSippPort(t testing.TB, name, remote string, port int, subst map[string]string, args ...string) *sipp {
	t.Helper()
	bin := requirePeer(t, "sipp")
	dir := t.TempDir()
	xml, err := os.ReadFile(filepath.Join("testdata", "sipp", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(xml)
	for k, v := range subst {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("scenario %s: unreplaced %s", name, s[i:min(len(s), i+20)])
	}
	scen := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(scen, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	mport := freeUDPPort(t)
	argv := []string{"-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(mport), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
		"-trace_msg", "-trace_err", "-trace_logs", "-message_file", filepath.Join(dir, "messages.log"),
		"-log_file", filepath.Join(dir, "log.log"), "-error_file", filepath.Join(dir, "errors.log")}
	argv = append(argv, args...)
	if remote != "" {
		argv = append(argv, remote)
	}
	p := startPeer(t, dir, bin, argv...)
	sp := &sipp{proc: p, port: port, dir: dir}
	if remote == "" {
		// A UAS must listen before the test sends to it: a first INVITE sent too early would be
		// lost and only its retransmission answered.
		if err := waitUDPBound(p, port, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"messages.log", "errors.log", "log.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					t.Logf("--- sipp %s ---\n%s", f, tail(string(b), 8000))
				}
			}
		}
	})
	return sp
}

// uri is the SIP URI of SIPp (as a UAS).
func (s *sipp) uri(user string) string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", user, s.port)
}

// wait waits for SIPp to finish its one call; SIPp exits 0 when every call succeeded.
func (s *sipp) wait(t testing.TB, within time.Duration) {
	t.Helper()
	if err := s.proc.wait(within); err != nil {
		t.Fatalf("sipp: %v", err)
	}
}

// logged returns what the scenario's <log> actions wrote.
func (s *sipp) logged(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "log.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// messages returns SIPp's message trace.
func (s *sipp) messages(t testing.TB) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(s.dir, "messages.log"))
	return string(b)
}
