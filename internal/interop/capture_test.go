package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// capture is a running tshark capture on lo.
type capture struct {
	proc *peerProc
	file string
}

// startCapture captures loopback UDP matching the BPF filter into a pcapng in the test's
// directory. "Capturing on" is printed before the filter is live, so it returns only once a
// probe datagram (to a port of its own, added to the filter) shows up in tshark's packet list.
func startCapture(t testing.TB, filter string) *capture {
	t.Helper()
	bin := requirePeer(t, "tshark")
	dir := t.TempDir()
	file := filepath.Join(dir, "capture.pcapng")
	probe := freeUDPPort(t)
	p := startPeer(t, dir, bin, "-i", "lo", "-f", fmt.Sprintf("udp port %d or (%s)", probe, filter), "-w", file, "-P", "-l")
	conn, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", probe))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	seen := regexp.MustCompile(fmt.Sprintf(`→ %d `, probe))
	for deadline := time.Now().Add(20 * time.Second); ; {
		conn.Write([]byte("capture probe"))
		if _, err := p.waitOutput(seen, 200*time.Millisecond); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tshark did not capture its probe")
		}
	}
	return &capture{proc: p, file: file}
}

// stop ends the capture, flushing the file. Packets sent just before may still sit in the
// kernel's buffer, so it first waits a little for them to be read.
func (c *capture) stop(t testing.TB) string {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	c.proc.stop()
	return c.file
}

// tsharkFields reads a capture with a display filter and returns the fields of each packet.
func tsharkFields(t testing.TB, file, filter string, decode []string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-r", file, "-Y", filter, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, d := range decode {
		args = append(args, "-d", d)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := runTshark(t, args...)
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "|"))
		}
	}
	return rows
}

// tsharkJSON reads a capture as tshark's JSON (-T json) with raw bytes (-x: "<field>_raw").
func tsharkJSON(t testing.TB, file, filter string, decode []string) []map[string]any {
	t.Helper()
	args := []string{"-r", file, "-Y", filter, "-T", "json", "-x"}
	for _, d := range decode {
		args = append(args, "-d", d)
	}
	var pkts []map[string]any
	if err := json.Unmarshal([]byte(runTshark(t, args...)), &pkts); err != nil {
		t.Fatalf("tshark JSON: %v", err)
	}
	return pkts
}

func runTshark(t testing.TB, args ...string) string {
	t.Helper()
	bin := requirePeer(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("tshark %s: %v %s", strings.Join(args, " "), err, msg)
	}
	return string(out)
}

// udpFilter is a BPF filter for the given UDP ports.
func udpFilter(ports ...int) string {
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprintf("udp port %d", p))
	}
	return strings.Join(s, " or ")
}
