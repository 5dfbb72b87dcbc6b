package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/media/audio"
)

func TestMain(m *testing.M) {
	// As main does: INVITEs with MIKEY-TICKET offers exceed sipgo's default UDP limit once the
	// lab's proxy adds its headers.
	sip.UDPMTUSize = UDPMaxDatagram
	os.Exit(m.Run())
}

// syncBuffer is an output buffer a running command writes while the test waits for lines.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the output matches re and returns the first submatch (or the match).
func (s *syncBuffer) waitFor(t *testing.T, re string, timeout time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		m := rx.FindStringSubmatch(s.b.String())
		ch := s.changed
		s.mu.Unlock()
		if m != nil {
			return m[len(m)-1]
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %q within %v in output:\n%s", re, timeout, s.String())
		}
	}
}

// running is a command executing in the background.
type running struct {
	out, err *syncBuffer
	cancel   context.CancelFunc
	done     chan int
}

// start runs imsphone in-process in the background with a real clock and crypto/rand.
func start(t *testing.T, stdin string, args ...string) *running {
	t.Helper()
	return startIn(t, strings.NewReader(stdin), args...)
}

func startIn(t *testing.T, stdin io.Reader, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{out: newSyncBuffer(), err: newSyncBuffer(), cancel: cancel, done: make(chan int, 1)}
	env := Env{Stdin: stdin, Stdout: r.out, Stderr: r.err}
	go func() { r.done <- Execute(ctx, env, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Errorf("imsphone %v did not stop", args)
		}
	})
	return r
}

// wait returns the exit code.
func (r *running) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(timeout):
		t.Fatalf("command did not finish in %v\nstdout:\n%s\nstderr:\n%s", timeout, r.out, r.err)
	}
	return -1
}

// runReal runs imsphone to completion with a real clock and crypto/rand.
func runReal(t *testing.T, args ...string) result {
	t.Helper()
	r := start(t, "", args...)
	code := r.wait(t, 60*time.Second)
	return result{code, r.out.String(), r.err.String()}
}

// startLab starts the built-in lab on a free SIP port and writes its account configs.
func startLab(t *testing.T) (*lab.Lab, string) {
	t.Helper()
	cfg, err := lab.ParseConfig([]byte(defaultLabYAML))
	if err != nil {
		t.Fatal(err)
	}
	cfg.SIPPort = 0
	l, err := lab.Start(context.Background(), *cfg, lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dir := t.TempDir()
	for _, acc := range l.Accounts() {
		if err := os.WriteFile(filepath.Join(dir, labUser(acc)+".yaml"), []byte(labAccountYAML(labView{Lab: l, ubURL: l.UbURL, kmsURL: l.KMSURL}, acc)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return l, dir
}

func TestRegisterOnce(t *testing.T) {
	_, dir := startLab(t)
	for _, tc := range []struct{ user, how string }{{"alice", "IMS AKA"}, {"carol", "Digest"}} {
		t.Run(tc.how, func(t *testing.T) {
			r := runReal(t, "register", "-c", filepath.Join(dir, tc.user+".yaml"), "--once", "--log-level", "warn")
			r.want(t, ExitOK)
			for _, want := range []string{
				"registered sip:" + tc.user + "@home1.net at sip:home1.net",
				"expires: 10m0s",
				"service-route: <sip:orig@127.0.0.1:",
				"associated-uris: sip:" + tc.user + "@home1.net",
				"de-registered",
			} {
				if !has(r.stdout, want) {
					t.Errorf("no %q in:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestRegisterUntilInterrupted(t *testing.T) {
	_, dir := startLab(t)
	r := start(t, "", "register", "-c", filepath.Join(dir, "carol.yaml"), "--expires", "60s", "--log-level", "warn")
	r.out.waitFor(t, "refreshing the binding until interrupted", 20*time.Second)
	if !has(r.out.String(), "expires: 1m0s") {
		t.Errorf("granted lifetime not printed:\n%s", r.out)
	}
	r.cancel()
	if code := r.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, r.out, r.err)
	}
	if !strings.HasSuffix(r.out.String(), "de-registered\n") {
		t.Errorf("no de-registration:\n%s", r.out)
	}
}

// A USIM whose K is not the subscriber's finds the registrar's AUTN MAC wrong: no RES is sent
// and imsphone exits 3 (as aka does for a MAC failure).
func TestRegisterNetworkAuthFailure(t *testing.T) {
	_, dir := startLab(t)
	bad := filepath.Join(dir, "bad.yaml")
	b, _ := os.ReadFile(filepath.Join(dir, "alice.yaml"))
	if err := os.WriteFile(bad, bytes.Replace(b, []byte("465b5ce8b199b49faa5f0a2ee238a6bc"), []byte("00000000000000000000000000000000"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runReal(t, "register", "-c", bad, "--once", "--log-level", "error")
	r.want(t, ExitAuthFail)
	if !strings.Contains(r.stderr, "network authentication failed") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestRegisterRefused(t *testing.T) {
	_, dir := startLab(t)
	bad := filepath.Join(dir, "bad.yaml")
	b, _ := os.ReadFile(filepath.Join(dir, "carol.yaml"))
	if err := os.WriteFile(bad, bytes.Replace(b, []byte("carol-secret"), []byte("wrong"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runReal(t, "register", "-c", bad, "--once", "--log-level", "error")
	r.want(t, ExitError)
	if !strings.Contains(r.stderr, "imsphone: register:") || strings.Contains(r.stderr, "wrong") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestPhoneCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("identity:\n  impu: sip:a@b\nsecurity:\n  mode: kmss\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"call"}, "exactly one URI"},
		{[]string{"call", "a", "b"}, "exactly one URI"},
		{[]string{"call", "bob@example"}, "not a sip: URI"},
		{[]string{"call", "--play", "tone:9000", "sip:b@127.0.0.1:9"}, "tone:FREQ"},
		{[]string{"call", "-c", badCfg, "sip:b@127.0.0.1:9"}, badCfg + ":4: security.mode:"},
		{[]string{"call", "-c", filepath.Join(dir, "none.yaml"), "sip:b@127.0.0.1:9"}, "none.yaml"},
		{[]string{"call", "--listen", "nonsense", "sip:b@127.0.0.1:9"}, "listen: \"nonsense\" is not host:port"},
		{[]string{"call", "--codecs", "PCMU,OPUS", "sip:b@127.0.0.1:9"}, "unknown codec \"OPUS\""},
		{[]string{"call", "--security", "kms", "sip:b@127.0.0.1:9"}, "kms.urls: security mode kms needs a KMS"},
		{[]string{"register"}, "registrar: required"},
		{[]string{"register", "--registrar", "sip:home1.net"}, "a registrar needs a password or aka keys"},
		{[]string{"answer", "--reject", "200"}, "--reject 200"},
		{[]string{"answer", "--auto", "--reject", "486"}, "exclude each other"},
		{[]string{"answer", "--max-calls", "-1"}, "must not be negative"},
		{[]string{"answer", "--play", filepath.Join(dir, "missing.wav")}, "--play"},
		{[]string{"lab", "-c", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"lab", "extra"}, "unknown command"},
	} {
		r := run(t, "", tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, ExitUsage, tc.want)
		}
	}
}

func TestLabCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	r := start(t, "", "lab", "--sip-port", "0", "--ub-listen", "127.0.0.1:0", "--kms-listen", "127.0.0.1:0", "--write-configs", dir, "--log-level", "warn")
	r.out.waitFor(t, `(?m)^ready`, 30*time.Second)
	out := r.out.String()
	if !regexp.MustCompile(`KMS: +http://127\.0\.0\.1:\d+/kms/mikey \(kms\.home1\.net\) → http://127\.0\.0\.1:\d+/kms/mikey`).MatchString(out) {
		t.Errorf("KMS front door not shown:\n%s", out)
	}
	for _, want := range []string{"registrar/proxy: 127.0.0.1:", "BSF Ub: http://127.0.0.1:", "KMS: http://127.0.0.1:",
		"alice@home1.net IMS AKA sip:alice@home1.net", "carol@home1.net Digest sip:carol@home1.net", filepath.Join(dir, "bob.yaml")} {
		if !has(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		acc, err := LoadAccount(filepath.Join(dir, u+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Finish(u, true); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		p, _ := acc.policy()
		if want := map[bool]string{true: "kms", false: "sdes"}[u != "carol"]; string(p.Mode) != want {
			t.Errorf("%s: mode %s, want %s", u, p.Mode, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "alice.yaml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("alice.yaml mode: %v %v", st.Mode(), err)
	}
	r.cancel()
	if code := r.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("exit %d: %s", code, r.err)
	}
	if !strings.HasSuffix(r.out.String(), "stopping\nstopped\n") {
		t.Errorf("no clean stop:\n%s", r.out)
	}
}

// Without --write-configs the lab prints the account configs, and they parse.
func TestLabCommandPrintsConfigs(t *testing.T) {
	r := start(t, "", "lab", "--sip-port", "0", "--ub-listen", "127.0.0.1:0", "--kms-listen", "127.0.0.1:0", "--log-level", "warn")
	r.out.waitFor(t, `(?m)^ready`, 30*time.Second)
	docs := strings.Split(r.out.String(), "--- # ")
	if len(docs) != 4 {
		t.Fatalf("%d config documents:\n%s", len(docs)-1, r.out)
	}
	for _, d := range docs[1:] {
		name, body, _ := strings.Cut(d, "\n")
		body, _, _ = strings.Cut(body, "---\n")
		if _, err := parseAccount(name, []byte(body), noSecrets); err != nil {
			t.Errorf("%s: %v\n%s", name, err, body)
		}
	}
}

func TestCallRejectedPeerToPeer(t *testing.T) {
	ans := start(t, "", "answer", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--reject", "486", "--max-calls", "1", "--log-level", "warn")
	addr := ans.out.waitFor(t, `waiting for calls on \S+ \((127\.0\.0\.1:\d+)`, 20*time.Second)
	r := runReal(t, "call", "--allow-sdes-without-tls", "--log-level", "warn", "sip:bob@"+addr)
	r.want(t, ExitError)
	if !has(r.stdout, "ended by remote: 486 Busy Here") || !strings.Contains(r.stderr, "call failed: 486 Busy Here") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if code := ans.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("answer exit %d", code)
	}
	if !has(ans.out.String(), "rejected with 486") || !has(ans.out.String(), "handled 1 calls") {
		t.Errorf("answer output:\n%s", ans.out)
	}
}

// The callee is asked on stdin; "n" declines with 603.
func TestAnswerAsksOnStdin(t *testing.T) {
	ans := start(t, "n\n", "answer", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--max-calls", "1", "--log-level", "warn")
	addr := ans.out.waitFor(t, `waiting for calls on \S+ \((127\.0\.0\.1:\d+)`, 20*time.Second)
	r := runReal(t, "call", "--allow-sdes-without-tls", "--log-level", "warn", "sip:bob@"+addr)
	r.want(t, ExitError)
	if !has(r.stdout, "603 Decline") {
		t.Errorf("caller:\n%s", r.stdout)
	}
	ans.wait(t, 20*time.Second)
	if !has(ans.out.String(), "answer? [Y/n]") || !has(ans.out.String(), "declined with 603") {
		t.Errorf("answer:\n%s", ans.out)
	}
}

// recordedTone reads a WAV and returns the tone's SNR at freq over its loudest half second.
func recordedTone(t *testing.T, path string, freq float64) (float64, int) {
	t.Helper()
	src, err := audio.OpenWAV(path, callRate)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	buf := make([]int16, 1024)
	for {
		n, err := src.Read(buf)
		pcm = append(pcm, buf[:n]...)
		if err != nil {
			break
		}
	}
	best := -audio.MaxSNR
	const block = callRate / 2
	for i := 0; i+block <= len(pcm); i += block / 2 {
		if snr := audio.DetectTone(pcm[i:i+block], callRate, freq); snr > best {
			best = snr
		}
	}
	return best, len(pcm)
}

func TestCallAnswerPeerToPeerSDES(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	dir := t.TempDir()
	in, out, keys := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav"), filepath.Join(dir, "keys.txt")
	ans := start(t, "", "answer", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--security", "sdes", "--auto", "--max-calls", "1",
		"--record", in, "--play", "tone:1000", "--log-level", "warn")
	addr := ans.out.waitFor(t, `waiting for calls on \S+ \((127\.0\.0\.1:\d+)`, 20*time.Second)
	r := runReal(t, "call", "--allow-sdes-without-tls", "--security", "sdes", "--play", "tone:440", "--record", out, "--duration", "2s",
		"--dtmf", "12#", "--keylog", keys, "--log-level", "warn", "sip:bob@"+addr)
	r.want(t, ExitOK)
	for _, want := range []string{"answered: 200 OK", "media up: AES_CM_128_HMAC_SHA1_80, keys from sdes", "dtmf sent: 12#",
		"hanging up (duration reached)", "ended by local: BYE", "SRTP auth failures 0, SRTCP auth failures 0", "recorded " + out} {
		if !has(r.stdout, want) {
			t.Errorf("caller: no %q in:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "warning: --keylog writes the SRTP master keys") {
		t.Errorf("no keylog warning: %q", r.stderr)
	}
	if code := ans.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("answer exit %d\n%s", code, ans.err)
	}
	ao := ans.out.String()
	for _, want := range []string{"incoming call 1 from sip:imsphone@127.0.0.1:", "media up: AES_CM_128_HMAC_SHA1_80, keys from sdes",
		"dtmf received: 1", "dtmf received: 2", "dtmf received: #", "ended by remote: BYE", "recorded " + in, "handled 1 calls"} {
		if !has(ao, want) {
			t.Errorf("callee: no %q in:\n%s", want, ao)
		}
	}
	// Each side recorded the other's tone.
	if snr, n := recordedTone(t, in, 440); snr < 20 {
		t.Errorf("callee's recording: 440 Hz SNR %.1f dB over %d samples", snr, n)
	}
	if snr, n := recordedTone(t, out, 1000); snr < 20 {
		t.Errorf("caller's recording: 1000 Hz SNR %.1f dB over %d samples", snr, n)
	}
	// The key log: one line per direction of the caller's stream, in client.Config.KeyLog's format.
	kl, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\S+ \S+ (send|recv) ssrc=[0-9a-f]{8} suite=AES_CM_128_HMAC_SHA1_80 key=[A-Za-z0-9+/=]{40} mki=-$`)
	if got := line.FindAllStringSubmatch(string(kl), -1); len(got) != 2 || got[0][1] == got[1][1] {
		t.Errorf("key log:\n%s", kl)
	}
	if st, _ := os.Stat(keys); st.Mode().Perm() != 0o600 {
		t.Errorf("key log mode %v", st.Mode())
	}
}

// alice calls bob through the lab: IMS AKA registration, GBA bootstrap, KMS tickets (MIKEY).
func TestCallAnswerThroughLabKMS(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	_, dir := startLab(t)
	in := filepath.Join(t.TempDir(), "in.wav")
	ans := start(t, "", "answer", "-c", filepath.Join(dir, "bob.yaml"), "--auto", "--max-calls", "1", "--record", in, "--log-level", "warn")
	ans.out.waitFor(t, `waiting for calls on`, 20*time.Second)
	r := runReal(t, "call", "-c", filepath.Join(dir, "alice.yaml"), "--play", "tone:440", "--duration", "2s", "--log-level", "warn", "sip:bob@home1.net")
	r.want(t, ExitOK)
	for _, want := range []string{"registered sip:alice@home1.net", "security kms/mandatory", "media up: AES_CM_128_HMAC_SHA1_80, keys from mikey",
		"SRTP auth failures 0, SRTCP auth failures 0"} {
		if !has(r.stdout, want) {
			t.Errorf("caller: no %q in:\n%s", want, r.stdout)
		}
	}
	if code := ans.wait(t, 20*time.Second); code != ExitOK {
		t.Fatalf("answer exit %d\n%s", code, ans.err)
	}
	if !has(ans.out.String(), "incoming call 1 from sip:alice@home1.net") || !has(ans.out.String(), "keys from mikey") {
		t.Errorf("callee:\n%s", ans.out)
	}
	if snr, n := recordedTone(t, in, 440); snr < 20 {
		t.Errorf("callee's recording: 440 Hz SNR %.1f dB over %d samples", snr, n)
	}
}

// configs/alice.yaml and configs/bob.yaml call each other through the built-in lab (their
// outbound proxy, BSF and KMS moved from the fixed ports of imsphone lab to the test lab's by
// flags): IMS AKA registration, GBA, KMS.
func TestShippedConfigsCallThroughLab(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	l, _ := startLab(t)
	cfg := func(n string) string { return filepath.Join("..", "..", "configs", n+".yaml") }
	moved := []string{"--proxy", l.SIPAddr, "--kms-url", l.KMSURL, "--bsf-url", l.UbURL, "--log-level", "warn"}
	ans := start(t, "", append([]string{"answer", "-c", cfg("bob"), "--auto", "--max-calls", "1"}, moved...)...)
	ans.out.waitFor(t, `waiting for calls on`, 20*time.Second)
	r := runReal(t, append([]string{"call", "-c", cfg("alice"), "--duration", "1s", "sip:bob@home1.net"}, moved...)...)
	r.want(t, ExitOK)
	if !has(r.stdout, "registered sip:alice@home1.net") || !has(r.stdout, "keys from mikey") {
		t.Errorf("caller:\n%s", r.stdout)
	}
	if code := ans.wait(t, 20*time.Second); code != ExitOK || !has(ans.out.String(), "incoming call 1 from sip:alice@home1.net") {
		t.Errorf("answer exit %d:\n%s\n%s", code, ans.out, ans.err)
	}
}

// SIP over TCP through the lab (transport tcp from a flag): the requests leave over TCP, and a
// MIKEY-TICKET INVITE needs no UDP size exemption.
func TestCallAnswerThroughLabTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	_, dir := startLab(t)
	ans := start(t, "", "answer", "-c", filepath.Join(dir, "bob.yaml"), "--transport", "tcp", "--auto", "--max-calls", "1", "--log-level", "warn")
	ans.out.waitFor(t, `waiting for calls on`, 20*time.Second)
	r := runReal(t, "call", "-c", filepath.Join(dir, "alice.yaml"), "--transport", "tcp", "--duration", "1s", "--log-level", "warn", "sip:bob@home1.net")
	r.want(t, ExitOK)
	// The registrar saw a TCP connection: its Service-Route says transport=tcp.
	if !has(r.stdout, "keys from mikey") || !regexp.MustCompile(`service-route: +<sip:orig@127\.0\.0\.1:\d+;transport=tcp;lr>`).MatchString(r.stdout) {
		t.Errorf("caller:\n%s", r.stdout)
	}
	if code := ans.wait(t, 20*time.Second); code != ExitOK {
		t.Errorf("answer exit %d\n%s", code, ans.err)
	}
}

// Ctrl-C while the callee still rings: the caller CANCELs (RFC 3261 §9.1), prints the 487 and
// exits 1; the callee, still asking on stdin, sees a missed call.
func TestCallInterruptedWhileRinging(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	ans := startIn(t, pr, "answer", "--allow-sdes-without-tls", "--listen", "127.0.0.1:0", "--max-calls", "1", "--log-level", "warn")
	addr := ans.out.waitFor(t, `waiting for calls on \S+ \((127\.0\.0\.1:\d+)`, 20*time.Second)
	c := start(t, "", "call", "--allow-sdes-without-tls", "--log-level", "warn", "sip:bob@"+addr)
	c.out.waitFor(t, "ringing: 180 Ringing", 20*time.Second)
	c.cancel()
	if code := c.wait(t, 30*time.Second); code != ExitError {
		t.Fatalf("call exit %d\n%s\n%s", code, c.out, c.err)
	}
	if out := c.out.String(); !has(out, "hanging up (interrupted)") || !has(out, "ended by local: 487 Request Terminated") {
		t.Errorf("caller:\n%s", out)
	}
	ans.out.waitFor(t, `ended by remote`, 20*time.Second)
	if code := ans.wait(t, 20*time.Second); code != ExitOK {
		t.Errorf("answer exit %d", code)
	}
}

// credentials.aka.sqn seeds the USIM's SEQ_MS: with a seed above the lab AuC's SQN_HE the first
// challenge is stale, the USIM answers with AUTS, the AuC resynchronises (TS 33.102 §6.3.5) and
// registration succeeds; sqn_file then holds an accepted SQN beyond the seed.
func TestRegisterWithSeededSQN(t *testing.T) {
	_, dir := startLab(t)
	b, _ := os.ReadFile(filepath.Join(dir, "alice.yaml"))
	state := filepath.Join(t.TempDir(), "sqn.json")
	seeded := bytes.Replace(b, []byte("    amf: \"8000\"\n"), []byte("    amf: \"8000\"\n    sqn: \"10000\"\n    sqn_file: "+strconv.Quote(state)+"\n"), 1)
	path := filepath.Join(dir, "seeded.yaml")
	if err := os.WriteFile(path, seeded, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runReal(t, "register", "-c", path, "--once", "--log-level", "warn")
	r.want(t, ExitOK)
	arr, err := gba.LoadSQNArray(state, gba.SQNPolicy{INDBits: gba.DefaultINDBits})
	if err != nil {
		t.Fatal(err)
	}
	if got := arr.SQNMS(); got <= 0x10000 {
		t.Errorf("SQN_MS after registration %#x, want above the seed 0x10000", got)
	}

	// Unseeded, the USIM accepts the AuC's low SQN at once.
	r = runReal(t, "register", "-c", filepath.Join(dir, "bob.yaml"), "--once", "--log-level", "warn")
	r.want(t, ExitOK)
}

// Without the permission an SDES call over UDP fails before any INVITE, saying why and which
// setting allows it (RFC 4568 §8.3); the YAML field is a strict boolean.
func TestCallSDESWithoutTLSRefused(t *testing.T) {
	r := runReal(t, "call", "--listen", "127.0.0.1:0", "--security", "sdes", "--log-level", "warn", "sip:bob@127.0.0.1:9")
	r.want(t, ExitError)
	for _, want := range []string{"RFC 4568 §8.3", "security.allow_sdes_without_tls", "--allow-sdes-without-tls"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	acc, err := parseAccount("a.yaml", []byte("security:\n  mode: sdes\n  allow_sdes_without_tls: true\n"), noSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := acc.policy(); err != nil || !p.AllowSDESWithoutTLS {
		t.Fatalf("policy %+v, %v", p, err)
	}
	_, err = parseAccount("a.yaml", []byte("security:\n  mode: sdes\n  allow_sdes_without_tls: sometimes\n"), noSecrets)
	if err == nil || !strings.Contains(err.Error(), "a.yaml:3") || !strings.Contains(err.Error(), "allow_sdes_without_tls") {
		t.Fatalf("bad boolean: %v", err)
	}
}
