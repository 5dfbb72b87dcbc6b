package interop

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/media/audio"
)

// The db_text users carry ha1 = MD5(user:realm:password) and ha1b = MD5(user@realm:realm:
// password) (RFC 2617 §3.2.2.2; Kamailio auth_db columns), recomputed here with crypto/md5.
func TestKamailioUsersHA1(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "kamailio", "db", "subscriber"))
	if err != nil {
		t.Fatal(err)
	}
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	if len(lines) < 2 {
		t.Fatalf("%d users", len(lines))
	}
	for _, l := range lines {
		f := strings.Split(l, ":")
		if len(f) != 6 || f[4] != h(f[1]+":"+f[2]+":"+f[3]) || f[5] != h(f[1]+"@"+f[2]+":"+f[2]+":"+f[3]) {
			t.Errorf("user line %q: ha1/ha1b wrong", l)
		}
	}
}

// imsphone registers at Kamailio with digest (401), is granted 4 s though it asked for 600,
// and refreshes before those 4 s run out (seen in Kamailio's log: a second REGISTER with the
// same Call-ID, a higher CSeq, authorised and saved again).
func TestKamailioRegisterRefresh(t *testing.T) {
	realTime(t)
	version(t, "Kamailio")
	check(t, "Kamailio", "REGISTER with digest (401), granted 4 s of the 600 s asked, refreshed before expiry (same Call-ID, higher CSeq)")
	k := startKamailio(t, 4)
	a := newPhone(t, "alice", nil, nil)
	ctx := context.Background()
	start := time.Now()
	reg, err := a.Register(ctx, client.RegisterOptions{Registrar: k.uri(""), AOR: k.uri("alice"),
		Username: "alice", Password: "alicepw", Expires: 600 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Expires() != 4*time.Second {
		t.Fatalf("granted %v, want Kamailio's 4 s", reg.Expires())
	}
	saved := regexp.MustCompile(`SAVED sip:alice@127\.0\.0\.1:\d+ ci=(\S+) cseq=(\d+)`)
	if _, err := k.proc.waitOutput(saved, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(8 * time.Second)
	for k.proc.count(saved) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	all := saved.FindAllStringSubmatch(k.proc.output(), -1)
	if len(all) < 2 {
		t.Fatalf("no refresh within %v of the registration", time.Since(start))
	}
	el := time.Since(start)
	cs0, _ := strconv.Atoi(all[0][2])
	cs1, _ := strconv.Atoi(all[1][2])
	if all[0][1] != all[1][1] || cs1 <= cs0 {
		t.Fatalf("refresh %v after %v", all[1], all[0])
	}
	// The binding must never lapse: the refresh came before the granted 4 s.
	if el >= 4*time.Second+time.Second {
		t.Fatalf("refresh only after %v", el)
	}
	t.Logf("registered, refreshed within %v (Call-ID %s, CSeq %s → %s)", el, all[0][1], all[0][2], all[1][2])
	if err := reg.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
}

// imsphone (alice) and baresip (bob) register at Kamailio; calls go through the proxy both
// ways with digest on the INVITE (407), SDES-SRTP end to end, tones both ways. Kamailio
// record-routes: imsphone's ACK (as caller) and BYE must come through Kamailio by their Route
// header (loose_route in Kamailio's log).
func TestKamailioCalls(t *testing.T) {
	realTime(t)
	version(t, "Kamailio")
	version(t, "baresip")
	wav := writeToneWAV(t, tonePeer, 60*time.Second)
	for _, dir := range []string{"imsphone-calls-baresip", "baresip-calls-imsphone"} {
		t.Run(dir, func(t *testing.T) {
			check(t, "Kamailio", dir+" through Kamailio (REGISTER 401, INVITE 407, Record-Route honoured for ACK and BYE), SDES, tones both ways")
			k := startKamailio(t, 600)
			b := startBaresip(t, "bob", wav, fmt.Sprintf("<sip:bob@127.0.0.1:%d>;auth_pass=bobpw;regint=600;answermode=auto;mediaenc=srtp-mand;audio_codecs=PCMU", k.port))
			// Registered before ctrl_tcp was connected, so the log, not REGISTER_OK, says so.
			if _, err := b.proc.waitOutput(regexp.MustCompile(`bob@127\.0\.0\.1: \{0/UDP/v4\} 200 OK`), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			// One suite: with Proxy-Authorization the default five-suite INVITE exceeds what
			// sipgo sends over UDP (see TestSippInvite407DefaultSuites).
			p, err := client.NewPhone(client.Config{User: "alice", AOR: k.uri("alice"), Security: newPhoneSecurity([]string{"AES_CM_128_HMAC_SHA1_80"}),
				RTCPMinInterval: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx := context.Background()
			reg, err := p.Register(ctx, client.RegisterOptions{Registrar: k.uri(""), Username: "alice", Password: "alicepw"})
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Unregister(ctx)
			snk := &sink{}
			opts := client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate), Sink: snk}
			var c *client.Call
			if dir == "imsphone-calls-baresip" {
				if c, err = p.Dial(ctx, k.uri("bob"), opts); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := b.ctrl.command("dial "+k.uri("alice"), 5*time.Second); err != nil {
					t.Fatal(err)
				}
				c = answerIncoming(t, p, opts)
			}
			up := waitFor(t, c, client.EventMediaUp, 10*time.Second)
			if up.Suite != "AES_CM_128_HMAC_SHA1_80" {
				t.Fatalf("media up with %s", up.Suite)
			}
			snk.waitSamples(t, 3*rate, 15*time.Second)
			hangup(t, b, c, "imsphone", false)
			checkTones(t, b, snk)
			me := p.Addr().Port()
			out := k.proc.output()
			if !regexp.MustCompile(`REQ INVITE ci=` + regexp.QuoteMeta(c.CallID) + ` `).MatchString(out) {
				t.Fatalf("the INVITE did not pass Kamailio")
			}
			want := []string{"BYE"}
			if dir == "imsphone-calls-baresip" {
				want = append(want, "ACK")
			}
			for _, m := range want {
				re := regexp.MustCompile(fmt.Sprintf(`LOOSE %s ci=%s src=127\.0\.0\.1:%d `, m, regexp.QuoteMeta(c.CallID), me))
				if !re.MatchString(out) {
					t.Errorf("imsphone's %s did not follow the Record-Route through Kamailio", m)
				}
			}
		})
	}
}
