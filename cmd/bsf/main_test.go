package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
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
	"github.com/imsphone/imsphone/gba/zn"
)

const procConfig = `
ub: {listen: "127.0.0.1:0"}
zn: {listen: "127.0.0.1:0", bearer_tokens: ["process-test-token-0123"]}
realm: bsf.home1.net
domain: bsf.home1.net
key_lifetime: 1h
state_file: state/bsf-state.json
subscribers:
  # TS 35.208 test set 1, test keys only.
  - {impi: user1_private@home1.net, k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318, amf: "8000", sqn: "000000000020"}
`

// TestProcess builds cmd/bsf, runs it on 127.0.0.1 ports, checks /healthz, bootstraps once, looks
// the key up over Zn, and stops it with SIGTERM, expecting exit status 0.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("real time: builds and runs the daemon")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bsf")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go") // go test runs with the toolchain's GOROOT
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "bsf.yaml")
	if err := os.WriteFile(cfgPath, []byte(procConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-config", cfgPath, "-log-format", "json", "-log-level", "debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The daemon logs the address of each endpoint; with port 0 that is the only way to know it.
	addrs := map[string]string{}
	var logs bytes.Buffer
	sc := bufio.NewScanner(stderr)
	for len(addrs) < 2 && sc.Scan() {
		logs.Write(append(sc.Bytes(), '\n'))
		var rec struct{ Msg, Endpoint, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "bsf listening" {
			addrs[rec.Endpoint] = rec.Addr
		}
	}
	if len(addrs) < 2 {
		t.Fatalf("no listening addresses in the log:\n%s", logs.String())
	}
	logDone := make(chan struct{})
	go func() {
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
		close(logDone)
	}()

	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addrs["zn"] + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	btid, ueKey := bootstrapOnce(t, hc, "http://"+addrs["ub"]+"/")
	r, err := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: "http://" + addrs["zn"], BearerToken: "process-test-token-0123"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := r.Resolve(ctx, btid, gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()})
	if err != nil || !bytes.Equal(k.Key, ueKey) {
		t.Fatalf("Zn: %v", err)
	}

	// Idle kept-alive connections would only delay the graceful shutdown.
	hc.CloseIdleConnections()
	r.CloseIdleConnections()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-logDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(logs.String(), `"msg":"bsf stopped"`) || strings.Contains(logs.String(), "graceful shutdown timed out") {
		t.Fatalf("no clean shutdown in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "465b5ce8") || strings.Contains(logs.String(), hex.EncodeToString(ueKey)) {
		t.Fatal("a key reached the log")
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "bsf-state.json")); err != nil {
		t.Fatalf("state file: %v", err)
	}
}

// bootstrapOnce runs the project's UE, gba.UbClient over a gba.SoftUSIM with TS 35.208 set 1.
func bootstrapOnce(t *testing.T, hc *http.Client, url string) (string, []byte) {
	t.Helper()
	k, _ := hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
	op, _ := hex.DecodeString("cdc202d5123e20f62b6d676ac72cb318")
	u, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: "user1_private@home1.net", K: k, OP: op})
	if err != nil {
		t.Fatal(err)
	}
	c := &gba.UbClient{BSFURL: url, USIM: u, HTTPClient: hc, Realm: "bsf.home1.net"}
	b, err := c.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b.BTID, b.KsNAF(gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()})
}

func TestRunFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-log-format", "xml"},
		{"-log-level", "loud"},
		{"-config", filepath.Join(t.TempDir(), "missing.yaml")},
		{"extra"},
	} {
		var out bytes.Buffer
		if err := run(args, &out); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
