package zn

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
)

var kmsNAF = gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: [5]byte{1, 0, 0, 0, 6}}

// loopbackServer is httptest.NewServer bound to 127.0.0.1 explicitly.
func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestHTTPResolverAnswers(t *testing.T) {
	const ks = "74eb8672becc0b19eccb86f2780cfb0178097e8873944798ab096d69e7351862"
	var gotAuth, gotBody, gotPath, gotCT string
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath, gotCT = r.Header.Get("Authorization"), r.URL.Path, r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch {
		case strings.Contains(gotBody, "known@"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"meKeyMaterial":"`+ks+`","keyExpiryTime":"2030-01-01T00:00:00Z","gbaType":"3G_GBA","impi":"user1_private@home1.net"}`)
		case strings.Contains(gotBody, "gone@"):
			w.Header().Set("Content-Type", ContentTypeProblem)
			w.WriteHeader(404)
			io.WriteString(w, `{"status":404,"cause":"BTID_NOT_FOUND","detail":"B-TID unknown or expired"}`)
		case strings.Contains(gotBody, "html@"):
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<html></html>`)
		case strings.Contains(gotBody, "huge@"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, strings.Repeat(" ", maxResponseBytes+10))
		default:
			w.Header().Set("Content-Type", ContentTypeProblem)
			w.WriteHeader(500)
			io.WriteString(w, `{"status":500,"cause":"SYSTEM_FAILURE"}`)
		}
	}))
	r, err := NewHTTPResolver(ClientConfig{BaseURL: srv.URL + "/", BearerToken: "0123456789abcdef-token", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k, err := r.Resolve(ctx, "known@bsf.home1.net", kmsNAF)
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != RetrievalPath || gotAuth != "Bearer 0123456789abcdef-token" || gotCT != "application/json" {
		t.Errorf("request: path %q auth %q content-type %q", gotPath, gotAuth, gotCT)
	}
	if !strings.Contains(gotBody, `"nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"}`) {
		t.Errorf("request body %s", gotBody)
	}
	if len(k.Key) != 32 || k.IMPI != "user1_private@home1.net" || k.Expiry.Year() != 2030 {
		t.Errorf("key %v", k)
	}

	_, err = r.Resolve(ctx, "gone@bsf.home1.net", kmsNAF)
	var pe *ProblemError
	if !errors.Is(err, ErrUnknownBTID) || !errors.As(err, &pe) || pe.Problem.Cause != CauseBTIDNotFound {
		t.Errorf("404: %v", err)
	}
	_, err = r.Resolve(ctx, "other@bsf.home1.net", kmsNAF)
	if err == nil || errors.Is(err, ErrUnknownBTID) || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: %v", err)
	}
	if _, err = r.Resolve(ctx, "html@bsf.home1.net", kmsNAF); err == nil {
		t.Error("text/html answer accepted")
	}
	if _, err = r.Resolve(ctx, "huge@bsf.home1.net", kmsNAF); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Errorf("oversize answer: %v", err)
	}
	if _, err = r.Resolve(ctx, "", kmsNAF); err == nil {
		t.Error("empty B-TID accepted")
	}
}

func TestHTTPResolverTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer close(block)
	r, err := NewHTTPResolver(ClientConfig{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(context.Background(), "x@y", kmsNAF); err == nil {
		t.Fatal("no timeout")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r2, _ := NewHTTPResolver(ClientConfig{BaseURL: srv.URL})
	if _, err := r2.Resolve(ctx, "x@y", kmsNAF); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestNewHTTPResolverChecks(t *testing.T) {
	for _, c := range []ClientConfig{{BaseURL: ""}, {BaseURL: "ftp://x"}, {BaseURL: "http://"},
		{BaseURL: "http://x", BearerToken: "a\r\nb"}} {
		if _, err := NewHTTPResolver(c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
