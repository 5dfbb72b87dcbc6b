package interop

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kamailio is a running Kamailio from testdata/kamailio on a free loopback port.
type kamailio struct {
	proc *peerProc
	port int
}

// startKamailio writes kamailio.cfg (port, run and db_text directories, the longest granted
// registration) into the test's directory and runs `kamailio -f cfg -DD -E` (foreground,
// log to stderr). It returns once Kamailio answers a probe OPTIONS.
func startKamailio(t testing.TB, maxExpires int) *kamailio {
	t.Helper()
	bin := requirePeer(t, "kamailio")
	dir := t.TempDir()
	dbdir := filepath.Join(dir, "db")
	rundir := filepath.Join(dir, "run")
	for _, d := range []string{dbdir, rundir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"version", "subscriber"} {
		b, err := os.ReadFile(filepath.Join("testdata", "kamailio", "db", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dbdir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "kamailio", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	cfg := strings.NewReplacer("{{PORT}}", strconv.Itoa(port), "{{RUNDIR}}", rundir, "{{DBDIR}}", dbdir,
		"{{MAX_EXPIRES}}", strconv.Itoa(maxExpires)).Replace(string(tmpl))
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPeer(t, dir, bin, "-f", cfgPath, "-DD", "-E")
	k := &kamailio{proc: p, port: port}
	if err := k.probe(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	return k
}

// probe sends OPTIONS until Kamailio answers (404: nobody registered as "probe").
func (k *kamailio) probe(within time.Duration) error {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer c.Close()
	me := c.LocalAddr().(*net.UDPAddr).Port
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: k.port}
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		select {
		case <-k.proc.done:
			return fmt.Errorf("kamailio exited: %v", k.proc.err)
		default:
		}
		msg := fmt.Sprintf("OPTIONS sip:probe@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d\r\n"+
			"From: <sip:probe@127.0.0.1:%d>;tag=p\r\nTo: <sip:probe@127.0.0.1:%d>\r\nCall-ID: probe-%d\r\nCSeq: 1 OPTIONS\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", k.port, me, time.Now().UnixNano(), me, k.port, time.Now().UnixNano())
		c.WriteTo([]byte(msg), dst)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := c.ReadFrom(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			return nil
		}
	}
	return fmt.Errorf("kamailio on %d did not answer OPTIONS within %v", k.port, within)
}

// uri is a SIP URI at Kamailio.
func (k *kamailio) uri(user string) string {
	if user == "" {
		return fmt.Sprintf("sip:127.0.0.1:%d", k.port)
	}
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", user, k.port)
}
