package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

func TestParseConfig(t *testing.T) {
	c, err := LoadConfig("testdata/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain != "home1.net" || len(c.Subscribers) != 3 || c.BSF == nil || time.Duration(c.Registrar.MaxExpires) != 2*time.Hour ||
		c.KMS == nil || c.KMS.FQDN != "kms.home1.net" || time.Duration(c.KMS.Skew) != 5*time.Minute {
		t.Fatalf("parsed %+v", c)
	}
	accts, subs, err := c.subscribers()
	if err != nil || len(accts) != 3 || len(subs) != 2 || !accts[1].AKA || subs[0].AMF != [2]byte{0xb9, 0xb9} || subs[0].SQN != 0x20 {
		t.Fatalf("subscribers: %v %v %v", accts, subs, err)
	}
	// Secrets stay out of %v and %#v.
	for _, s := range []string{fmt.Sprintf("%v", c.Subscribers), fmt.Sprintf("%#v", c.Subscribers), fmt.Sprintf("%v", *c.BSF)} {
		if strings.Contains(s, "465b5ce8") || strings.Contains(s, "cd63cb71") || strings.Contains(s, "alice-secret") || strings.Contains(s, "lab-zn-token") {
			t.Errorf("secret in %s", s)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{"domain: x\nbogus: 1\n", "bogus"},
		{"domain: x\nsubscribers:\n- impi: a\n  k: 00\n  opc: 00\n", "k: 1 octets"},
		{"domain: x\nsubscribers:\n- impi: a\n  k: 465b5ce8b199b49faa5f0a2ee238a6bc\n", "op or opc"},
		{"domain: x\nsubscribers:\n- impi: a\n  k: zz5b5ce8b199b49faa5f0a2ee238a6bc\n  opc: cd63cb71954a9f4e48a5994e37a02baf\n", "k: not hex"},
		{"domain: x\nregistrar:\n  sender_policy: maybe\n", "sender_policy"},
		{"domain: x\nsubscribers:\n- impus: [\"sip:a@x\"]\n", "impi is empty"},
		{"domain: x\nkms: {fqdn: kms.x}\n", "kms needs bsf"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "465b5ce8") {
			t.Errorf("key material in error %v", err)
		}
	}
}

// Config errors name the line and field (internal/yamlconf), also for a bad value found after
// decoding, and the file when there is one.
func TestParseConfigErrorLines(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"domain: x\nregistrar:\n  sender_policy: maybe\n", "line 3: registrar.sender_policy"},
		{"domain: x\nsubscribers:\n- impi: a\n  password: p\n- impus: [\"sip:b@x\"]\n", "line 5: subscribers.1"},
		{"domain: x\nkms: {fqdn: kms.x}\n", "line 2: kms"},
		{"domain: x\ndomain: y\n", "line 2"},
		{"a: &a x\ndomain: *a\n", "alias"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one with %q", tc.yaml, err, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(path, []byte("domain: x\nsip_port: many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("LoadConfig: error %v, want one naming %s:2", err, path)
	}
}

// TestLab registers an AKA subscriber over SIP and then bootstraps the same USIM at the lab's
// BSF: with one AuC behind both, the SQN sequence continues and no resynchronisation happens.
// The KMS side (Zn) then sees the UE's Ks_NAF.
func TestLab(t *testing.T) {
	cfg, err := LoadConfig("testdata/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), *cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acc, ok := l.Account("ue1@ims.home1.net")
	if !ok || !acc.AKA || len(acc.K) != 16 || acc.Realm != "home1.net" {
		t.Fatalf("account settings %v", acc)
	}
	if s := fmt.Sprintf("%v %#v %v %#v %v %+v", acc, acc, l, l, l.Registrar, l.Accounts()); strings.Contains(s, "465b5ce8") ||
		strings.Contains(s, "cd63cb71") || strings.Contains(s, "alice-secret") || strings.Contains(s, l.ZnBearerToken) {
		t.Errorf("K in %s", s)
	}
	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: acc.IMPI, K: acc.K, OPc: acc.OPc, SingleCounter: true})
	if err != nil {
		t.Fatal(err)
	}
	defer usim.Close()

	// REGISTER with AKAv1-MD5 over TCP, answered by the project's Digest AKA client.
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("ue1"), sipgo.WithUserAgentHostname(l.Domain))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ruri, impu sip.Uri
	sip.ParseUri(l.RegistrarURI, &ruri)
	sip.ParseUri(acc.IMPUs[0], &impu)
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.AppendHeader(&sip.ToHeader{Address: impu})
	from := &sip.FromHeader{Address: impu, Params: sip.NewParams()}
	from.Params.Add("tag", "t1")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "ue1", Host: "127.0.0.1", Port: 5999,
		UriParams: sip.HeaderParams{{K: "transport", V: "tcp"}}}})
	req.AppendHeader(sip.NewHeader("Expires", "600000"))
	req.SetBody(nil)
	req.SetTransport("TCP")
	req.SetDestination(l.SIPAddr)
	res, err := cli.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %v %v", res, err)
	}
	ch, err := gba.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	ans, err := (&gba.DigestAKAClient{USIM: usim}).Answer(ctx, ch, "REGISTER", l.RegistrarURI, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	req.AppendHeader(sip.NewHeader("Authorization", ans.Credentials.String()))
	ans.Zero()
	req.RemoveHeader("Via")
	res, err = cli.Do(ctx, req, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("AKA REGISTER: %v %v", res, err)
	}
	if pau := res.GetHeader("P-Associated-URI"); pau == nil || !strings.Contains(pau.Value(), "+15550001") {
		t.Errorf("P-Associated-URI %v", pau)
	}

	// Ub bootstrap with the same USIM, then Zn as the KMS would do it.
	b, err := (&gba.UbClient{BSFURL: l.UbURL, USIM: usim, Realm: l.BSFRealm}).Bootstrap(ctx)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	defer b.Zero()
	if n := l.BSF.Metrics().Resyncs.Load(); n != 0 {
		t.Errorf("%d resyncs: the BSF and the registrar do not share the AuC", n)
	}
	naf := gba.NAFID{FQDN: "kms.home1.net", UaSecProtID: gba.UaSecProtIDKMS()}
	r, err := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: l.ZnURL, BearerToken: l.ZnBearerToken})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdleConnections()
	key, err := r.Resolve(ctx, b.BTID, naf)
	if err != nil {
		t.Fatalf("Zn: %v", err)
	}
	if !bytes.Equal(key.Key, b.KsNAF(naf)) || key.IMPI != acc.IMPI {
		t.Fatalf("Zn key differs from the UE's Ks_NAF (IMPI %q)", key.IMPI)
	}

	addr, ub := l.SIPAddr, strings.TrimSuffix(strings.TrimPrefix(l.UbURL, "http://"), "/")
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, a := range []string{addr, ub} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Close", a)
		}
	}
}

func TestLabContextCancelCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx, Config{Domain: "home1.net", Subscribers: []Subscriber{
		{IMPI: "a@home1.net", IMPUs: []string{"sip:a@home1.net"}, Password: "pw"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.SIPAddr
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts after the context ended", addr)
}
