package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd/etcdtest"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

const procPolicy = `version: 1
users:
  - {impi: user1_private@home1.net, impus: [sip:user1_public1@home1.net]}
request:
  - {name: all, from: ["*"], to: ["sip:*@home1.net"], max_validity: 1h}
resolve:
  - {name: all, who: ["*"], of: ["*"]}
`

// TestProcess builds cmd/kms, runs it on a 127.0.0.1 port against an in-process test BSF, checks
// /healthz and /metrics, has a UE (SoftUSIM, Ub bootstrap, NAF key cache) request a ticket over
// HTTP, and stops the daemon with SIGTERM, expecting exit status 0 and no key in the log.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("real time: builds and runs the daemon")
	}
	dir := testProcess(t, "store: state/kms.db\n") // the scalar form: a bbolt file
	if _, err := os.Stat(filepath.Join(dir, "state", "kms.db")); err != nil {
		t.Fatalf("store file: %v", err)
	}
}

// TestProcessEtcd is TestProcess with the etcd backend: the daemon's state is in etcd afterwards.
func TestProcessEtcd(t *testing.T) {
	url := etcdtest.Start(t)
	testProcess(t, "store:\n  backend: etcd\n  etcd: {endpoints: [\""+url+"\"], prefix: /process-test/, dial_timeout: 5s}\n")
	st, err := etcd.Open(context.Background(), etcd.Config{Endpoints: []string{url}, Prefix: "/process-test/"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if k, err := st.CurrentTicketKey(ctx); err != nil || k.ID == 0 {
		t.Fatalf("no ticket key in etcd: %v", err)
	}
	if at, err := st.StartedAt(ctx); err != nil || at.IsZero() {
		t.Fatalf("no epoch in etcd: %v %v", at, err)
	}
	if u, err := st.User(ctx, "user1_private@home1.net"); err != nil || len(u.IMPUs) != 1 {
		t.Fatalf("policy users not in etcd: %+v %v", u, err)
	}
}

// testProcess runs the daemon with the given store section and returns its directory.
func testProcess(t *testing.T, storeYAML string) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kms")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The test BSF, in process (TS 35.208 test set 1 keys, test only).
	k, _ := hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
	opc, _ := hex.DecodeString("cd63cb71954a9f4e48a5994e37a02baf")
	auc, err := bsf.NewAuC([]bsf.Subscriber{{IMPI: "user1_private@home1.net", K: k, OPc: opc, AMF: [2]byte{0x80, 0}, SQN: 0x20}}, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bsf.New(bsf.Config{Realm: "bsf.home1.net", Domain: "bsf.home1.net", KeyLifetime: time.Hour,
		ZnBearerTokens: []string{"process-test-token-0123"}}, auc, bsf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ub, _ := net.Listen("tcp", "127.0.0.1:0")
	znl, _ := net.Listen("tcp", "127.0.0.1:0")
	bctx, bstop := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Serve(bctx, ub, znl) }()
	defer func() { bstop(); <-bdone }()

	cfg := "fqdn: kms.home1.net\nlisten: 127.0.0.1:0\n" + storeYAML + "policy: policy.yaml\nskew: 1s\n" +
		"zn: {base_url: \"http://" + znl.Addr().String() + "\", bearer_token_file: zn-token}\n"
	for name, body := range map[string]string{"kms.yaml": cfg, "policy.yaml": procPolicy, "zn-token": "process-test-token-0123\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "state"), 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-config", filepath.Join(dir, "kms.yaml"), "-log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var logs bytes.Buffer
	sc := bufio.NewScanner(stderr)
	var addr string
	for addr == "" && sc.Scan() {
		logs.Write(append(sc.Bytes(), '\n'))
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "kms listening" {
			addr = rec.Addr
		}
	}
	if addr == "" {
		t.Fatalf("no listening address in the log:\n%s", logs.String())
	}
	logDone, reloaded := make(chan struct{}), make(chan struct{})
	go func() {
		seen := false
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			if !seen && bytes.Contains(sc.Bytes(), []byte(`"msg":"policy reloaded"`)) {
				seen = true
				close(reloaded)
			}
		}
		close(logDone)
	}()

	hc := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []string{"/healthz", "/metrics"} {
		resp, err := hc.Get("http://" + addr + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: "user1_private@home1.net", K: k, OPc: opc})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := gba.NewNAFKeys(gba.NAFKeysConfig{Bootstrapper: &gba.UbClient{BSFURL: "http://" + ub.Addr().String() + "/",
		USIM: usim, Realm: "bsf.home1.net", HTTPClient: hc}})
	defer keys.Close()
	c, err := kms.NewClient(kms.ClientConfig{URLs: []string{"http://" + addr + kms.DefaultPath}, FQDN: "kms.home1.net",
		Keys: keys.Key, Invalidate: keys.Invalidate, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the new replay cache's epoch + skew
	tk, err := c.RequestTicket(ctx, kms.TicketRequest{
		Initiator:  &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:user1_public1@home1.net")},
		Responders: []*mikey.IDR{{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:user2@home1.net")}},
		Flags:      mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH})
	if err != nil {
		t.Fatalf("RequestTicket: %v\n%s", err, logs.String())
	}
	_, ksNAF, _ := keys.Key(ctx, "kms.home1.net")

	// SIGHUP reloads the policy file.
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(procPolicy+"groups: {g: [\"sip:*@x\"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("no policy reload after SIGHUP")
	}

	hc.CloseIdleConnections()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-logDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	l := logs.String()
	if !strings.Contains(l, `"msg":"kms stopped"`) || !strings.Contains(l, `"msg":"audit"`) || !strings.Contains(l, `"granted":true`) {
		t.Fatalf("no audit record or clean shutdown in the log:\n%s", l)
	}
	for _, secret := range [][]byte{ksNAF, tk.Resp.Keys.MPKi, tk.Resp.Keys.Keys[0].Key} {
		if strings.Contains(l, hex.EncodeToString(secret)) {
			t.Fatal("a key reached the log")
		}
	}
	return dir
}

func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("fqdn: x\nunknown_key: 1\n"), 0o600)
	partial := filepath.Join(dir, "partial.yaml")
	os.WriteFile(partial, []byte("fqdn: x\n"), 0o600)
	for _, args := range [][]string{
		{"-log-format", "xml"},
		{"-log-level", "loud"},
		{"-config", filepath.Join(dir, "missing.yaml")},
		{"-config", bad},
		{"-config", partial},
		{"extra"},
	} {
		var out bytes.Buffer
		if err := run(args, &out); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// The example configuration in configs/ loads.
func TestExampleConfig(t *testing.T) {
	fc, err := loadConfig("../../configs/kms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fc.serverConfig(); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.znConfig(); err != nil {
		t.Fatal(err)
	}
}

// The store section: the scalar form (a bbolt file or "memory") and the mapping with a backend.
func TestStoreConfig(t *testing.T) {
	base := "fqdn: x\nlisten: 127.0.0.1:0\npolicy: p.yaml\nzn: {base_url: http://127.0.0.1:1}\n"
	dir := t.TempDir()
	for i, c := range []struct {
		store   string
		backend string
		path    string
		bad     string // substring of the error, if refused
	}{
		{store: "store: state/kms.db", backend: "bbolt", path: "state/kms.db"},
		{store: "store: memory", backend: "memory"},
		{store: "store: {backend: bbolt, path: a.db, batch_delay: 1ms, commit_interval: 3ms, replay_write_behind: true}", backend: "bbolt", path: "a.db"},
		{store: "store: {backend: memory}", backend: "memory"},
		{store: "store: {backend: etcd, etcd: {endpoints: [\"http://127.0.0.1:2379\"]}}", backend: "etcd"},
		{store: "store: {backend: etcd}", bad: "etcd.endpoints"},
		{store: "store: {backend: bbolt}", bad: "needs path"},
		{store: "store: {backend: redis}", bad: "unknown backend"},
		{store: "store: {path: a.db}", bad: "backend is required"},
		{store: "store: {backend: bbolt, path: a.db, colour: red}", bad: "colour"},
		{store: "store: {backend: etcd, etcd: {endpoints: [x], cert_file: c.pem}}", bad: "key_file"},
	} {
		p := filepath.Join(dir, fmt.Sprintf("%d.yaml", i))
		if err := os.WriteFile(p, []byte(base+c.store+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fc, err := loadConfig(p)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%q: error %v, want one about %q", c.store, err, c.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.store, err)
			continue
		}
		if fc.Store.Backend != c.backend || fc.Store.Path != c.path {
			t.Errorf("%q: backend %q path %q", c.store, fc.Store.Backend, fc.Store.Path)
		}
	}
}
