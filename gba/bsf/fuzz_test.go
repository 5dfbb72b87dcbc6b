package bsf

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba/zn"
)

// FuzzUbAuthorization feeds arbitrary Authorization values to the Ub handler: it must answer
// 400, 401, 403 or 503, never panic and never 200 (no fuzz input knows RES).
func FuzzUbAuthorization(f *testing.F) {
	auc, err := NewAuC([]Subscriber{set1Subscriber(testIMPI, 0x20)}, "")
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{Realm: testRealm, Domain: testRealm, KeyLifetime: time.Hour, ZnBearerTokens: []string{testToken},
		MaxPendingChallenges: 64}, auc, Options{})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.UbHandler()
	f.Add(initialAuthz(testIMPI))
	f.Add(`Digest username="user1_private@home1.net", realm="bsf.home1.net", nonce="I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=", uri="/", qop=auth-int, nc=00000001, cnonce="0a4f113b", response="d47e4afd3245638428c815924bc5bc69", opaque="x", algorithm=AKAv1-MD5`)
	f.Add(`Digest username="user1_private@home1.net", nonce="x", auts="uuF0E1vbfnwjQ+tZIHs="`)
	f.Add(`Digest ,,,=,"`)
	f.Add(`Basic Zm9vOmJhcg==`)
	f.Fuzz(func(t *testing.T, authz string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", authz)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 400, 401, 403, 503:
		default:
			t.Fatalf("status %d for %q", rec.Code, authz)
		}
	})
}

// FuzzZnRequest feeds arbitrary bodies to the Zn handler.
func FuzzZnRequest(f *testing.F) {
	auc, err := NewAuC([]Subscriber{set1Subscriber(testIMPI, 0x20)}, "")
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{Realm: testRealm, Domain: testRealm, KeyLifetime: time.Hour, ZnBearerTokens: []string{testToken}}, auc, Options{})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.ZnHandler()
	f.Add(`{"btId":"I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net","nafId":{"nafFqdn":"kms.home1.net","uaSecProtId":"0100000006"}}`)
	f.Add(`{"btId":1}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, zn.RetrievalPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 400 && rec.Code != 404 && rec.Code != 413 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
