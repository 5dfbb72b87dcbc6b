// Package etcdtest starts a throw-away single-member etcd for tests of the KMS's etcd Store
// backend (keymgmt/kms/store/etcd): the etcd binary from PATH (Debian package etcd-server), free
// loopback ports, a temporary data directory, killed in Cleanup.
package etcdtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Start runs etcd and returns its client URL once it reports healthy. Under -short it skips
// (it starts a process); without an etcd binary it fails when IMSPHONE_REQUIRE_PEERS=1 and
// skips otherwise.
func Start(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an etcd process")
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("IMSPHONE_REQUIRE_PEERS") == "1" {
			t.Fatalf("etcd not found (install Debian package etcd-server): %v", err)
		}
		t.Skipf("etcd not found (install Debian package etcd-server): %v", err)
	}
	// A free port can be taken between our probe and etcd's bind; try again with new ports.
	var last error
	for range 3 {
		url, err := start(t, bin)
		if err == nil {
			return url
		}
		last = err
	}
	t.Fatal(last)
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	if len(out) > 2000 {
		out = out[len(out)-2000:]
	}
	return out
}

func start(t testing.TB, bin string) (string, error) {
	cp, err := freePort()
	if err != nil {
		return "", err
	}
	pp, err := freePort()
	if err != nil {
		return "", err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cp)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pp)
	dir := filepath.Join(t.TempDir(), "etcd")
	cmd := exec.Command(bin,
		"--name", "kms-test", "--data-dir", dir,
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "kms-test="+peer, "--initial-cluster-state", "new",
		"--initial-cluster-token", "kms-test-"+filepath.Base(filepath.Dir(dir)))
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start etcd: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return "", fmt.Errorf("etcd exited before it was ready:\n%s", logs.tail())
		default:
		}
		if healthy(hc, client) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("etcd log (tail):\n%s", logs.tail())
				}
			})
			return client, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("etcd not healthy after 30 s:\n%s", logs.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthy(hc *http.Client, client string) bool {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, client+"/health", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(b.String(), `"health":"true"`)
}
