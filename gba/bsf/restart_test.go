package bsf

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"path/filepath"
	"testing"
)

// sqnInNonce recovers SQN from the AUTN in a nonce: AUTN[0:6] ⊕ AK (TS 33.102 §6.3.3).
func sqnInNonce(t *testing.T, sub Subscriber, nonce string) uint64 {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(nonce)
	m := milenageOf(t, sub)
	_, _, _, ak, err := m.F2345(raw[:16])
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	for i := 0; i < 6; i++ {
		b[2+i] = raw[16+i] ^ ak[i]
	}
	return binary.BigEndian.Uint64(b[:])
}

// TestRestartKeepsSQN: SQN_HE survives a restart (a new AuC and Server over the same state file),
// so the first challenge after the restart carries a SQN above every SQN issued before it.
func TestRestartKeepsSQN(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSF(t, envOpts{subs: []Subscriber{sub}, statePath: state})
	var last uint64
	for i := 0; i < 3; i++ {
		resp, _ := e.ubGet(initialAuthz(testIMPI))
		ch := e.challengeOf(resp)
		sqn := sqnInNonce(t, sub, ch.Nonce)
		if sqn <= last {
			t.Fatalf("SQN %012x not above %012x", sqn, last)
		}
		last = sqn
	}
	e.stop()

	e2 := startBSF(t, envOpts{subs: []Subscriber{sub}, statePath: state})
	resp, _ := e2.ubGet(initialAuthz(testIMPI))
	ch := e2.challengeOf(resp)
	if sqn := sqnInNonce(t, sub, ch.Nonce); sqn <= last || sqn>>indBits != last>>indBits+1 {
		t.Fatalf("after restart SQN %012x, last before %012x: want SEQ+1", sqn, last)
	}
	_, res, _, _ := resOf(t, sub, ch.Nonce)
	if resp, body := e2.ubGet(manualAnswer(ch, testIMPI, res, "", nil)); resp.StatusCode != http.StatusOK {
		t.Fatalf("bootstrap after restart: %d %s", resp.StatusCode, body)
	}
}
