package interop

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// baresipConfig is one headless baresip 1.0.0 (peers.md §1): SIP on 127.0.0.1:SIPPort, the
// ctrl_tcp JSON interface on CtrlPort, audio from a WAV (aufile), received audio recorded by
// sndfile into Dir/rec, no sound card (ALSA's null PCM).
type baresipConfig struct {
	Dir            string
	User           string
	SIPPort        int
	CtrlPort       int
	RTPMin, RTPMax int
	WAV            string
	// Account is the account line; empty: no registration, auto answer, SRTP mandatory (SDES).
	Account string
}

// write generates DIR/config, DIR/accounts and DIR/contacts.
func (c baresipConfig) write() error {
	if err := os.MkdirAll(filepath.Join(c.Dir, "rec"), 0o755); err != nil {
		return err
	}
	account := c.Account
	if account == "" {
		account = fmt.Sprintf("<sip:%s@127.0.0.1:%d>;regint=0;answermode=auto;mediaenc=srtp-mand;audio_codecs=PCMU", c.User, c.SIPPort)
	}
	// net_interface must be the address: "lo" fails to bind and no setting advertises eth0.
	// There is no stdio.so without a TTY; aufile is source-only in 1.0.0.
	cfg := strings.Join([]string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", c.SIPPort),
		"net_interface 127.0.0.1",
		"call_local_timeout 120",
		"call_max_calls 4",
		"audio_player alsa,null",
		"audio_alert alsa,null",
		"audio_source aufile," + c.WAV,
		"audio_level no",
		fmt.Sprintf("rtp_ports %d-%d", c.RTPMin, c.RTPMax),
		"rtp_timeout 0",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module sndfile.so",
		"module alsa.so",
		"module aufile.so",
		"module srtp.so",
		"module_app account.so",
		"module_app contact.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		"module_app debug_cmd.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", c.CtrlPort),
		"statmode_default off",
		"snd_path " + filepath.Join(c.Dir, "rec"),
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(c.Dir, "config"), []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "accounts"), []byte(account+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "contacts"), nil, 0o644)
}

// baresip is a running baresip with its ctrl_tcp connection.
type baresip struct {
	cfg  baresipConfig
	proc *peerProc
	ctrl *baresipCtrl
}

// startBaresip writes the configuration for user (ports chosen free now) and starts baresip.
// A port taken between choosing and binding makes baresip exit at start; then it is started
// again on other ports.
func startBaresip(t testing.TB, user, wav, account string) *baresip {
	t.Helper()
	bin := requirePeer(t, "baresip")
	for attempt := 1; ; attempt++ {
		dir := filepath.Join(t.TempDir(), "baresip-"+user)
		lo, hi := freePortRange(t, 40)
		cfg := baresipConfig{Dir: dir, User: user, SIPPort: freeSIPPort(t), CtrlPort: freeTCPPort(t),
			RTPMin: lo, RTPMax: hi, WAV: wav}
		if account != "" {
			cfg.Account = strings.ReplaceAll(account, "$PORT", strconv.Itoa(cfg.SIPPort))
		}
		if err := cfg.write(); err != nil {
			t.Fatal(err)
		}
		p := startPeer(t, dir, bin, "-f", dir)
		ctrl, err := dialBaresipCtrl(cfg.CtrlPort, 10*time.Second, p)
		if err != nil {
			if attempt < 3 {
				t.Logf("baresip attempt %d: %v\n%s", attempt, err, tail(p.output(), 2000))
				p.stop()
				continue
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { ctrl.close() })
		return &baresip{cfg: cfg, proc: p, ctrl: ctrl}
	}
}

// uri is baresip's SIP URI for direct calls.
func (b *baresip) uri() string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", b.cfg.User, b.cfg.SIPPort)
}

// recordings returns the WAV files sndfile wrote for received ("dec") audio, oldest first.
func (b *baresip) recordings(kind string) []string {
	m, _ := filepath.Glob(filepath.Join(b.cfg.Dir, "rec", "dump-*-"+kind+".wav"))
	sort.Strings(m)
	return m
}

// baresipEvent is one ctrl_tcp event (JSON object with "event": true).
type baresipEvent struct {
	Type      string `json:"type"`
	Class     string `json:"class"`
	Param     string `json:"param"`
	ID        string `json:"id"`
	PeerURI   string `json:"peeruri"`
	Direction string `json:"direction"`
}

type baresipResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// baresipCtrl speaks ctrl_tcp: netstring-framed JSON (LEN ":" JSON ","). Commands carry a
// token that the response echoes; events arrive unsolicited. baresip allows one connection.
type baresipCtrl struct {
	conn net.Conn
	mu   sync.Mutex
	next int
	resp map[string]chan baresipResponse

	evMu   sync.Mutex
	events []baresipEvent
	change chan struct{}
}

func dialBaresipCtrl(port int, within time.Duration, p *peerProc) (*baresipCtrl, error) {
	deadline := time.Now().Add(within)
	var conn net.Conn
	for {
		var err error
		conn, err = net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			break
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("baresip exited before ctrl_tcp listened")
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("baresip ctrl_tcp on %d: %w", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := &baresipCtrl{conn: conn, resp: map[string]chan baresipResponse{}, change: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *baresipCtrl) close() { c.conn.Close() }

func (c *baresipCtrl) read() {
	r := bufio.NewReader(c.conn)
	for {
		msg, err := readNetstring(r, 1<<20)
		if err != nil {
			return
		}
		var kind struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &kind) != nil {
			continue
		}
		switch {
		case kind.Response:
			var rsp baresipResponse
			json.Unmarshal(msg, &rsp)
			c.mu.Lock()
			ch := c.resp[rsp.Token]
			delete(c.resp, rsp.Token)
			c.mu.Unlock()
			if ch != nil {
				ch <- rsp
			}
		case kind.Event:
			var ev baresipEvent
			json.Unmarshal(msg, &ev)
			c.evMu.Lock()
			c.events = append(c.events, ev)
			close(c.change)
			c.change = make(chan struct{})
			c.evMu.Unlock()
		}
	}
}

// readNetstring reads one netstring (D. J. Bernstein, "Netstrings", 1997: decimal length
// without leading zeros, ":", that many bytes, ","), the framing of baresip's ctrl_tcp.
func readNetstring(r *bufio.Reader, maxLen int) ([]byte, error) {
	n, digits := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			if digits > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if b == ':' {
			break
		}
		if b < '0' || b > '9' {
			return nil, fmt.Errorf("netstring: length digit %d is %q", digits, b)
		}
		if digits == 1 && n == 0 {
			return nil, errors.New("netstring: length has a leading zero")
		}
		n = n*10 + int(b-'0')
		digits++
		if n > maxLen {
			return nil, fmt.Errorf("netstring: length %d over %d", n, maxLen)
		}
	}
	if digits == 0 {
		return nil, errors.New("netstring: empty length")
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("netstring: %d of %d bytes: %w", n+1, n+1, io.ErrUnexpectedEOF)
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("netstring: byte %d after the %d-byte payload is %q, want ','", n, n, buf[n])
	}
	return buf[:n], nil
}

// appendNetstring frames payload as a netstring.
func appendNetstring(dst, payload []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ':')
	dst = append(dst, payload...)
	return append(dst, ',')
}

// command runs one baresip command ("dial sip:..", "hangup", "hold", ...) and returns its
// response.
func (c *baresipCtrl) command(line string, within time.Duration) (baresipResponse, error) {
	cmd, params, _ := strings.Cut(line, " ")
	c.mu.Lock()
	c.next++
	tok := strconv.Itoa(c.next)
	ch := make(chan baresipResponse, 1)
	c.resp[tok] = ch
	c.mu.Unlock()
	js, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": tok})
	if _, err := c.conn.Write(appendNetstring(nil, js)); err != nil {
		return baresipResponse{}, err
	}
	select {
	case r := <-ch:
		if !r.OK {
			return r, fmt.Errorf("baresip %q: %s", line, r.Data)
		}
		return r, nil
	case <-time.After(within):
		return baresipResponse{}, fmt.Errorf("baresip %q: no response within %v", line, within)
	}
}

// waitEvent waits for an event of type typ after the first `from` events, returning the
// event and its index.
func (c *baresipCtrl) waitEvent(typ string, from int, within time.Duration) (baresipEvent, int, error) {
	deadline := time.After(within)
	for {
		c.evMu.Lock()
		for i := from; i < len(c.events); i++ {
			if c.events[i].Type == typ {
				ev := c.events[i]
				c.evMu.Unlock()
				return ev, i, nil
			}
		}
		ch := c.change
		c.evMu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return baresipEvent{}, 0, fmt.Errorf("baresip: no %s event within %v (events: %v)", typ, within, c.eventTypes())
		}
	}
}

func (c *baresipCtrl) eventCount() int {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	return len(c.events)
}

func (c *baresipCtrl) eventTypes() []string {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	var s []string
	for _, e := range c.events {
		s = append(s, e.Type)
	}
	return s
}

var baresipVersionRE = regexp.MustCompile(`baresip v([0-9][^ ]*)`)
