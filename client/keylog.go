package client

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
)

// Key log directions.
const (
	keyLogSend = "send"
	keyLogRecv = "recv"
)

// logKey writes one line of the key log (Config.KeyLog) for one direction of an SRTP stream:
//
//	<RFC 3339 time, ns> <Call-ID> <send|recv> ssrc=<8 hex> suite=<name> key=<base64(key‖salt)> mki=<hex or ->
//
// Lines are written whole, one Write each, under the Phone's lock, so concurrent calls do not
// interleave. The key material goes nowhere else.
func (p *Phone) logKey(callID, dir string, ssrc uint32, suite string, s keymgmt.SRTP) {
	if p.cfg.KeyLog == nil {
		return
	}
	ks := make([]byte, 0, len(s.MasterKey)+len(s.MasterSalt))
	ks = append(append(ks, s.MasterKey...), s.MasterSalt...)
	mki := "-"
	if len(s.MKI) > 0 {
		mki = hex.EncodeToString(s.MKI)
	}
	line := fmt.Sprintf("%s %s %s ssrc=%08x suite=%s key=%s mki=%s\n", time.Now().UTC().Format(time.RFC3339Nano),
		callID, dir, ssrc, suite, base64.StdEncoding.EncodeToString(ks), mki)
	clear(ks)
	p.keyLogMu.Lock()
	defer p.keyLogMu.Unlock()
	if _, err := p.cfg.KeyLog.Write([]byte(line)); err != nil {
		p.log.Warn("key log write failed", "error", err)
	}
}
