package gba

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedaction logs and prints every key-holding type and checks that no key octets appear.
func TestRedaction(t *testing.T) {
	k, opc, auc := testSubscriber(t)
	usim, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: chainIMPI, K: k, OPc: opc})
	av, _ := GenerateAuthVector(auc, unhex(t, chainRAND), seqind(1, 0), []byte{0, 0})
	res, err := usim.Authenticate(context.Background(), av.RAND, av.AUTN)
	if err != nil {
		t.Fatal(err)
	}
	ks := append(append([]byte{}, av.CK...), av.IK...)
	b := &Bootstrap{BTID: chainBTID, RAND: av.RAND, Ks: ks, Lifetime: time.Unix(0, 0), IMPI: chainIMPI}
	naf := NAFKey{NAF: NAFID{FQDN: chainNAF, UaSecProtID: UaSecProtIDKMS()}, BTID: chainBTID, Key: b.KsNAF(NAFID{chainNAF, UaSecProtIDKMS()})}
	secrets := [][]byte{k, opc, av.XRES, av.CK, av.IK, res.RES, naf.Key, ks}

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	for _, v := range []any{auc, av, res, usim, b, naf} {
		log.Info("value", "v", v)
		fmt.Fprintf(&buf, "%v %+v %s\n", v, v, v)
	}
	out := strings.ToLower(buf.String())
	for _, s := range secrets {
		if strings.Contains(out, hex.EncodeToString(s)) || strings.Contains(out, fmt.Sprint(s)) {
			t.Fatalf("secret %x leaked:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "redacted") || !strings.Contains(out, strings.ToLower(chainBTID)) {
		t.Fatalf("unexpected output:\n%s", out)
	}
	av.Zero()
	if !bytes.Equal(av.XRES, make([]byte, 8)) || !bytes.Equal(av.CK, make([]byte, 16)) {
		t.Fatal("AuthVector.Zero")
	}
	if b.Valid(time.Unix(0, 0)) || !b.Valid(time.Unix(-1, 0)) {
		t.Fatal("Bootstrap.Valid")
	}
	sf := &SyncFailure{AUTS: make([]byte, 14), Reason: "SEQ 1 is not above SEQ_MS(0) = 1"}
	if !strings.Contains(sf.Error(), "synchronisation failure") || !strings.Contains(sf.Error(), sf.Reason) {
		t.Fatal(sf.Error())
	}
}

// A 401 whose WWW-Authenticate is missing or not a Digest challenge is a protocol error; a Basic
// challenge before the Digest one is skipped.
func TestUbChallengeHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		want    string
	}{
		{"none", nil, "401 without WWW-Authenticate"},
		{"basic only", []string{`Basic realm="x"`}, `auth-scheme "Basic"`},
		{"no nonce", []string{`Digest realm="bsf.home1.net"`}, "nonce missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, h := range tc.headers {
					w.Header().Add("WWW-Authenticate", h)
				}
				w.WriteHeader(http.StatusUnauthorized)
			}))
			k, opc, _ := testSubscriber(t)
			usim, _ := NewSoftUSIM(SoftUSIMConfig{IMPI: chainIMPI, K: k, OPc: opc})
			c := &UbClient{BSFURL: srv.URL, USIM: usim}
			_, err := c.Bootstrap(context.Background())
			if !errors.Is(err, ErrBSFProtocol) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
	// Basic first, Digest second: the Digest challenge is answered
	f := newUbFixture(t)
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("WWW-Authenticate", `Basic realm="legacy"`)
		f.bsf.ServeHTTP(w, r)
	}))
	f.client.BSFURL = srv.URL + "/"
	if _, err := f.client.Bootstrap(context.Background()); err != nil {
		t.Fatalf("Basic then Digest: %v", err)
	}
	if n := len(f.bsf.credentials()); n != 2 {
		t.Fatalf("%d requests", n)
	}
}
