package interop

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/media/audio"
)

// answerIncoming waits for a call on p's Incoming and answers it.
func answerIncoming(t testing.TB, p *client.Phone, opts client.CallOptions) *client.Call {
	t.Helper()
	var c *client.Call
	select {
	case c = <-p.Incoming():
	case <-time.After(10 * time.Second):
		t.Fatal("no incoming call")
	}
	if err := c.Answer(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	return c
}

// baresip calls imsphone with its one offered suite (AES_CM_128_HMAC_SHA1_80, RTP/SAVP);
// imsphone answers, tones flow both ways, either side hangs up.
func TestBaresipCallsImsphone(t *testing.T) {
	realTime(t)
	version(t, "baresip")
	wav := writeToneWAV(t, tonePeer, 60*time.Second)
	for _, hangBy := range []string{"imsphone", "baresip"} {
		t.Run(hangBy+"-hangs-up", func(t *testing.T) {
			check(t, "baresip", "baresip calls imsphone, AES_CM_128_HMAC_SHA1_80 (its offer), tones both ways, "+hangBy+" hangs up")
			b := startBaresip(t, "bob", wav, "")
			a := newPhone(t, "alice", nil, nil)
			if _, err := b.ctrl.command("dial "+phoneURI(a), 5*time.Second); err != nil {
				t.Fatal(err)
			}
			snk := &sink{}
			c := answerIncoming(t, a, client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate), Sink: snk})
			up := waitFor(t, c, client.EventMediaUp, 5*time.Second)
			if up.Suite != "AES_CM_128_HMAC_SHA1_80" || up.KeySource != "sdes" {
				t.Fatalf("media up with %s (%s)", up.Suite, up.KeySource)
			}
			if _, _, err := b.ctrl.waitEvent("CALL_ESTABLISHED", 0, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			snk.waitSamples(t, 3*rate, 15*time.Second)
			hangup(t, b, c, hangBy, false)
			checkTones(t, b, snk)
		})
	}
}

// hangup ends the call from one side and checks both saw it end.
// With srtcpTag32 baresip's SRTCP is expected to fail (see libreSRTCPTag32).
func hangup(t *testing.T, b *baresip, c *client.Call, by string, srtcpTag32 bool) {
	t.Helper()
	// baresip 1.0.0 sends two RTCP packets in the clear (seen on the wire): an APP "PINGPONG"
	// (80cc, name PING) right after the answer, before its SRTCP is on, and its BYE + SDES
	// (81cb, 81ca) at hang-up after tearing SRTP down; imsphone must drop both as SRTCP
	// authentication failures. Every SRTP packet must authenticate.
	if st, ok := c.Stats(); !ok || (st.SRTCPAuthFailures > 1 && !srtcpTag32) || st.SRTPAuthFailures != 0 {
		t.Fatalf("imsphone stats before hang-up %+v", st)
	}
	from := b.ctrl.eventCount()
	var ended client.Event
	if by == "imsphone" {
		if err := c.Hangup(context.Background()); err != nil {
			t.Fatal(err)
		}
		ended = waitEnded(t, c, 5*time.Second)
		if ended.By != client.Local {
			t.Fatalf("ended %v", ended)
		}
	} else {
		if _, err := b.ctrl.command("hangup", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		ended = waitEnded(t, c, 5*time.Second)
		if ended.By != client.Remote || ended.Reason != "BYE" {
			t.Fatalf("ended %v, want by remote with BYE", ended)
		}
	}
	if _, _, err := b.ctrl.waitEvent("CALL_CLOSED", from, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := ended.Stats; st == nil || st.SRTPAuthFailures != 0 || (st.SRTCPAuthFailures > 2 && !srtcpTag32) || st.PacketsReceived < 100 {
		t.Fatalf("imsphone stats %+v", st)
	}
}

// Hold and resume by re-INVITE from each side keep the call's SRTP keys: after resume both
// tones flow again and imsphone sees no authentication failure. imsphone offers its five
// default suites; that INVITE is about 1 140 octets here, so it goes by UDP (the sibling below
// sends one by TCP).
func TestBaresipHoldResume(t *testing.T) {
	realTime(t)
	version(t, "baresip")
	wav := writeToneWAV(t, tonePeer, 60*time.Second)
	for _, holder := range []string{"imsphone", "baresip"} {
		t.Run(holder+"-holds", func(t *testing.T) {
			check(t, "baresip", fmt.Sprintf("hold and resume by re-INVITE from %s, SRTP keys kept, tones both ways after resume", holder))
			b := startBaresip(t, "bob", wav, "")
			a := newPhone(t, "alice", nil, nil)
			holdResume(t, a, b, holder)
		})
	}
}

// tcpUser is a user part long enough (it is in From, Contact and the SDP o= line) to take
// imsphone's INVITE with the five default suites past 1300 octets: RFC 3261 §18.1.1 sends it
// by TCP.
var tcpUser = "alice-" + strings.Repeat("0123456789", 20)

// The same hold and resume with an INVITE sent by TCP (RFC 3261 §18.1.1): baresip answers on
// that connection (§18.2.2) with a Contact naming transport=tcp, so imsphone's ACKs,
// re-INVITEs and BYE reuse it. On the wire (tshark on lo): no TCP reset at all, and imsphone
// closes the connection with its FIN once the call is over and Config.TCPIdle has passed,
// before the Phone closes.
func TestBaresipHoldResumeINVITEOverTCP(t *testing.T) {
	realTime(t)
	version(t, "baresip")
	check(t, "baresip", "INVITE > 1300 octets by TCP (RFC 3261 §18.1.1), hold and resume from imsphone over that connection, BYE; no TCP reset, imsphone's FIN after the call")
	wav := writeToneWAV(t, tonePeer, 60*time.Second)
	b := startBaresip(t, "bob", wav, "")
	capt := startCapture(t, fmt.Sprintf("tcp port %d", b.cfg.SIPPort))
	// The connection stays open a second once the call is over (default 32 s, RFC 3261 §18).
	a := newPhoneWith(t, tcpUser, nil, nil, func(c *client.Config) { c.TCPIdle = time.Second })
	holdResume(t, a, b, "imsphone")
	// imsphone's FIN (from its ephemeral port to baresip's SIP port) once the call is over.
	fin := regexp.MustCompile(fmt.Sprintf(`TCP \d+ \d+ → %d \[FIN`, b.cfg.SIPPort))
	if _, err := capt.proc.waitOutput(fin, 10*time.Second); err != nil {
		t.Fatalf("imsphone did not close the TCP connection after the call: %v\n%s", err, tail(capt.proc.output(), 3000))
	}
	file := capt.stop(t)
	dec := []string{fmt.Sprintf("tcp.port==%d,sip", b.cfg.SIPPort)}
	invites := tsharkFields(t, file, "sip.Method == \"INVITE\"", dec, "tcp.srcport", "sip.CSeq.seq")
	if len(invites) != 3 {
		t.Fatalf("INVITEs over TCP %v, want the INVITE, hold and resume", invites)
	}
	if rst := tsharkFields(t, file, "tcp.flags.reset == 1", nil, "frame.number", "tcp.srcport", "tcp.dstport"); len(rst) > 0 {
		t.Fatalf("TCP resets on the SIP connection: %v", rst)
	}
	fins := tsharkFields(t, file, "tcp.flags.fin == 1", nil, "tcp.srcport", "tcp.dstport")
	if len(fins) != 2 || fins[0][1] != strconv.Itoa(b.cfg.SIPPort) {
		t.Fatalf("FINs %v: want imsphone's first, then baresip's", fins)
	}
	byeOK := tsharkFields(t, file, "sip.Status-Code == 200 && sip.CSeq.method == \"BYE\"", dec, "frame.number")
	firstFIN := tsharkFields(t, file, "tcp.flags.fin == 1", nil, "frame.number")
	if len(byeOK) != 1 || atoi(t, firstFIN[0][0]) < atoi(t, byeOK[0][0]) {
		t.Fatalf("200 to BYE in frame %v, imsphone's FIN in %v: the connection closed before the dialog ended", byeOK, firstFIN)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// holdResume runs a call between a and b with a hold and a resume by holder, then imsphone
// hangs up.
func holdResume(t *testing.T, a *client.Phone, b *baresip, holder string) {
	t.Helper()
	snk := &sink{}
	opts := client.CallOptions{Source: audio.Tone(toneIMS, 0.5, rate), Sink: snk}
	var c *client.Call
	if holder == "imsphone" {
		var err error
		if c, err = a.Dial(context.Background(), b.uri(), opts); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := b.ctrl.command("dial "+phoneURI(a), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		c = answerIncoming(t, a, opts)
	}
	waitFor(t, c, client.EventMediaUp, 10*time.Second)
	snk.waitSamples(t, 2*rate, 15*time.Second)
	keys := c.Keys().String()
	ctx := context.Background()
	if holder == "imsphone" {
		if err := c.Hold(ctx); err != nil {
			t.Fatal(err)
		}
		if e := waitFor(t, c, client.EventUpdated, 5*time.Second); e.Direction != sdpoa.SendOnly {
			t.Fatalf("after hold our direction is %v", e.Direction)
		}
	} else {
		if _, err := b.ctrl.command("hold", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if e := waitFor(t, c, client.EventUpdated, 5*time.Second); e.Direction != sdpoa.RecvOnly {
			t.Fatalf("after baresip's hold our direction is %v", e.Direction)
		}
	}
	time.Sleep(time.Second) // on hold for a while: real time is the point here
	mark := len(snk.samples())
	if holder == "imsphone" {
		if err := c.Resume(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := b.ctrl.command("resume", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if e := waitFor(t, c, client.EventUpdated, 5*time.Second); e.Direction != sdpoa.SendRecv {
		t.Fatalf("after resume our direction is %v", e.Direction)
	}
	if c.Keys().String() != keys {
		t.Fatalf("keys changed across hold/resume: %s → %s", keys, c.Keys())
	}
	deadline := time.Now().Add(15 * time.Second)
	for loud(snk.samples()[mark:]) < 3*rate && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	after := analyse(snk.samples()[mark:], tonePeer, toneIMS)
	t.Logf("after resume imsphone heard %.0f Hz: SNR %.1f dB, %.1f s of sound", after.PeakHz, after.SNR, after.Seconds)
	if !after.heard(tonePeer, 2) {
		t.Errorf("no tone from baresip after resume: %+v", after)
	}
	hangup(t, b, c, "imsphone", false)
	checkTonesAfterResume(t, b)
}

// checkTonesAfterResume checks that the last 2 s of sound baresip recorded carry imsphone's
// tone: audio sent after the resume decrypted with the keys kept.
func checkTonesAfterResume(t *testing.T, b *baresip) {
	t.Helper()
	recs := b.recordings("dec")
	if len(recs) == 0 {
		t.Fatal("baresip recorded nothing")
	}
	pcm := readWAV(t, recs[len(recs)-1])
	for len(pcm) > 160 && loud(pcm[len(pcm)-160:]) == 0 {
		pcm = pcm[:len(pcm)-160]
	}
	if len(pcm) > 3*rate {
		pcm = pcm[len(pcm)-3*rate:]
	}
	got := analyse(pcm, toneIMS, tonePeer)
	t.Logf("baresip heard at the end %.0f Hz: SNR %.1f dB, %.1f s of sound", got.PeakHz, got.SNR, got.Seconds)
	if !got.heard(toneIMS, 1.5) {
		t.Errorf("baresip did not hear imsphone's tone after resume: %+v", got)
	}
}
