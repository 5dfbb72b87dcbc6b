package client

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/imsphone/imsphone/keymgmt"
)

// registrar is an in-process sipgo registrar with digest MD5 (RFC 2617 §3.2.2 without qop,
// computed here straight from crypto/md5, independently of the client's icholy/digest).
type registrar struct {
	t                     *testing.T
	uri                   string
	user, pass, realm     string
	nonce                 string
	granted               int
	mu                    sync.Mutex
	registers, authorised int
	lastExpires           string
}

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

func newRegistrar(t *testing.T, granted int) *registrar {
	r := &registrar{t: t, user: "alice", pass: "secret", realm: "ims.test", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", granted: granted}
	ua, _ := sipgo.NewUA()
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(r.onRegister)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	for ; ; time.Sleep(time.Millisecond) {
		if c, _ := ua.TransportLayer().GetConnection("udp", conn.LocalAddr().String()); c != nil {
			break
		}
	}
	t.Cleanup(func() { ua.Close(); conn.Close() })
	r.uri = "sip:" + conn.LocalAddr().String()
	return r
}

func (r *registrar) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registers++
	h := req.GetHeader("Authorization")
	if h == nil {
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5`, r.realm, r.nonce)))
		tx.Respond(res)
		return
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != r.user || cred.Realm != r.realm || cred.Nonce != r.nonce || cred.URI != req.Recipient.Addr() {
		tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return
	}
	want := md5hex(md5hex(r.user+":"+r.realm+":"+r.pass) + ":" + r.nonce + ":" + md5hex("REGISTER:"+cred.URI))
	if cred.Response != want {
		tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return
	}
	r.authorised++
	if e := req.GetHeader("Expires"); e != nil {
		r.lastExpires = e.Value()
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	ct := req.Contact()
	res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", ct.Address.String(), r.granted)))
	res.AppendHeader(sip.NewHeader("Service-Route", "<sip:orig@scscf.ims.test;lr>"))
	tx.Respond(res)
}

func (r *registrar) counts() (int, int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registers, r.authorised, r.lastExpires
}

func TestRegisterDigestMD5(t *testing.T) {
	reg := newRegistrar(t, 3600)
	p := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ctx := context.Background()
	r, err := p.Register(ctx, RegisterOptions{Registrar: reg.uri, Username: "alice", Password: "secret", Expires: 7200 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Expires() != time.Hour {
		t.Fatalf("granted %v, want the registrar's 1h", r.Expires())
	}
	if sr := r.ServiceRoute(); len(sr) != 1 || !strings.Contains(sr[0], "scscf.ims.test") {
		t.Fatalf("Service-Route %q", sr)
	}
	if n, ok, exp := reg.counts(); n != 2 || ok != 1 || exp != "7200" {
		t.Fatalf("registrar saw %d REGISTERs, %d authorised, Expires %s", n, ok, exp)
	}
	if err := r.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, exp := reg.counts(); ok != 2 || exp != "0" {
		t.Fatalf("unregister: authorised %d, Expires %s", ok, exp)
	}

	_, err = p.Register(ctx, RegisterOptions{Registrar: reg.uri, Username: "alice", Password: "wrong"})
	if !errors.Is(err, ErrRegister) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong password: %v", err)
	}
}

// The binding is refreshed at half the granted lifetime.
func TestRegisterRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	reg := newRegistrar(t, 1)
	p := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	r, err := p.Register(context.Background(), RegisterOptions{Registrar: reg.uri, Username: "alice", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1300 * time.Millisecond)
	r.Unregister(context.Background())
	if _, ok, _ := reg.counts(); ok < 3 {
		t.Fatalf("%d authorised REGISTERs, want the first, ≥ 1 refresh and the removal", ok)
	}
}
