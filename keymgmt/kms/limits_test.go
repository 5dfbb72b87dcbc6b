package kms_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

func TestSourceRateLimit(t *testing.T) {
	e := newEnv(t, envCfg{cfg: kms.Config{SourceRate: 1, SourceBurst: 2, IdentityRate: -1}})
	for i := range 3 {
		st, _, h := post(t, e.url, []byte{1}, kms.ContentType)
		if i < 2 && st != http.StatusBadRequest {
			t.Fatalf("request %d: %d", i, st)
		}
		if i == 2 && (st != http.StatusTooManyRequests || h.Get("Retry-After") == "") {
			t.Fatalf("request %d: %d, Retry-After %q", i, st, h.Get("Retry-After"))
		}
	}
	if ev := e.lastAudit(); ev.Status != http.StatusTooManyRequests || ev.Reason != "source rate limit" {
		t.Fatalf("audit %+v", ev)
	}
	e.clk.Add(time.Second)
	if st, _, _ := post(t, e.url, []byte{1}, kms.ContentType); st != http.StatusBadRequest {
		t.Fatalf("after refill: %d", st)
	}
}

// With MaxConcurrent 1, a second request while the first waits on Zn is answered 503.
func TestBoundedConcurrency(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	zn := kms.ZnResolverFunc(func(ctx context.Context, _, _ string) (kms.ZnKey, error) {
		close(entered)
		<-release
		return kms.ZnKey{}, kms.ErrUnknownBTID
	})
	p, _ := policy.Parse([]byte(testPolicy))
	srv, err := kms.New(context.Background(), kms.Config{FQDN: kmsFQDN, MaxConcurrent: 1},
		kms.Options{Store: store.NewMemory(), Policy: policy.NewEngine("", p), Zn: zn})
	must(t, err, "New")
	e := newEnv(t, envCfg{noRate: true})
	alice := e.ue("alice@home1.net")
	tk := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	req := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, kms.DefaultPath, bytes.NewReader(tk.Request.Raw))
		r.Header.Set("Content-Type", kms.ContentType)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	first := make(chan int)
	go func() { first <- req().Code }()
	<-entered
	if w := req(); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second request: %d", w.Code)
	}
	close(release)
	if c := <-first; c != http.StatusUnauthorized {
		t.Fatalf("first request: %d", c)
	}
}

// A client that never finishes its headers is cut off after ReadHeaderTimeout.
func TestReadHeaderTimeout(t *testing.T) {
	e := newEnv(t, envCfg{cfg: kms.Config{ReadHeaderTimeout: 200 * time.Millisecond}})
	addr := e.url[len("http://") : len(e.url)-len(kms.DefaultPath)]
	c, err := net.Dial("tcp", addr)
	must(t, err, "dial")
	defer c.Close()
	c.Write([]byte("POST " + kms.DefaultPath + " HTTP/1.1\r\nHost: x\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = bufio.NewReader(c).ReadByte()
	if err == nil {
		// The server may answer 408 before closing; either way it must not wait for us.
		t.Logf("server answered after %v", time.Since(start))
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a half-sent request open for 5 s")
	}
}
