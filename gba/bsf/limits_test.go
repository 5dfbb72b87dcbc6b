package bsf

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServerLimits: a client that never finishes its header is cut off after ReadHeaderTimeout,
// and an oversize header gets 431, on both endpoints.
func TestServerLimits(t *testing.T) {
	e := startBSF(t, envOpts{cfg: func(c *Config) { c.ReadHeaderTimeout = 100 * time.Millisecond }})
	for _, base := range []string{e.ubURL, e.znURL} {
		addr := strings.TrimPrefix(base, "http://")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // header never ends
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(conn)
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: connection still open after 5 s", addr)
		}
		t.Logf("%s: slow header cut off after %v", addr, time.Since(start).Round(time.Millisecond))

		req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
		resp, err := e.ubHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: oversize header: status %d", addr, resp.StatusCode)
		}
	}
}
