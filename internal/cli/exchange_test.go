package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// The verification paths that pair a response with the request before it in the same input,
// with messages built by keymgmt/mikey's builders.

func TestMIKEYDecodePSKInitAndVerify(t *testing.T) {
	psk := bytes.Repeat([]byte{0x31}, 20)
	ts, _ := mikey.NewTNTPUTC(testNow)
	init, _, err := mikey.BuildPSKInit(mikey.PSKInitParams{T: ts, WantVerify: true,
		SRTPIDs: []mikey.SRTPIDEntry{{}},
		IDi:     &mikey.ID{Type: mikey.IDTypeNAI, Data: []byte("alice@example.com")},
		Keys:    []mikey.KeyData{{Type: mikey.KeyTGK, Key: bytes.Repeat([]byte{1}, 16)}},
		EncrAlg: mikey.EncrAESCM128, MACAlg: mikey.MACHMACSHA1160, Rand: rand.NewChaCha8([32]byte{4})}, psk)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := mikey.ParseMessage(init.Raw)
	pi, err := mikey.VerifyPSKInit(got, psk)
	if err != nil {
		t.Fatal(err)
	}
	verify, err := mikey.BuildPSKVerify(pi, &mikey.ID{Type: mikey.IDTypeNAI, Data: []byte("bob@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	a, b := hex.EncodeToString(init.Raw), base64.StdEncoding.EncodeToString(verify.Raw)
	r := run(t, "", "mikey", "decode", "--psk", hex.EncodeToString(psk), a, b)
	r.want(t, ExitOK)
	if countHas(r.stdout, "MAC: yes") != 2 ||
		!has(r.stdout, "source: argument 2") || !has(r.stdout, "data type: 1 (Verification message, PSK (RFC 3830))") {
		t.Errorf("output:\n%s", r.stdout)
	}
	// Alone, the verification message cannot be checked: a note, not an error.
	r = run(t, "", "mikey", "decode", "--psk", hex.EncodeToString(psk), b)
	r.want(t, ExitOK)
	if !has(r.stdout, "note: the verification message is checked against its PSK init message") {
		t.Errorf("output:\n%s", r.stdout)
	}
	// A verification message whose V was altered fails.
	bad := bytes.Clone(verify.Raw)
	bad[len(bad)-1] ^= 1
	r = run(t, "", "mikey", "decode", "--psk", hex.EncodeToString(psk), a, hex.EncodeToString(bad))
	r.want(t, ExitMACFailed)
}

func countHas(out, want string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if has(l, want) {
			n++
		}
	}
	return n
}

// The Ticket Request exchange (RFC 6043 §4.2.1) as two binary HTTP bodies in files.
func TestMIKEYDecodeTicketRequestFiles(t *testing.T) {
	ksNAF := bytes.Repeat([]byte{0x24}, 32)
	rnd := rand.NewChaCha8([32]byte{5})
	ts, _ := mikey.NewTNTPUTC(testNow)
	alice := &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:alice@example.com")}
	bob := &mikey.IDR{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:bob@example.com")}
	btid := &mikey.IDR{Role: mikey.IDRolePSK, Type: mikey.IDTypeNAI, Data: []byte("I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net")}
	flags := mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH
	tp := func() mikey.TP {
		return mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: mikey.PRFHMACSHA256,
			Flags: flags, Data: []mikey.Payload{alice, bob}}
	}
	desired := tp()
	req, _, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: mikey.PRFHMACSHA256, T: ts, IDRi: alice, IDRpsk: btid,
		TP: &desired, MACAlg: mikey.MACHMACSHA256256, Rand: rnd}, ksNAF)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := mikey.ParseMessage(req.Raw)
	ri, err := mikey.VerifyRequestInitPSK(parsed, ksNAF)
	if err != nil {
		t.Fatal(err)
	}
	mpki := bytes.Repeat([]byte{0x61}, 32)
	tgk := bytes.Repeat([]byte{0x62}, 16)
	resp, _, err := mikey.BuildRequestResp(mikey.RequestRespParams{Init: ri, T: ts, EncrAlg: mikey.EncrAESCM128,
		Ticket: &mikey.TICKET{Policy: tp(), TicketData: []byte("opaque ticket")},
		Keys:   mikey.TicketKeys{MPKi: mpki, Keys: []mikey.KeyData{{Type: mikey.KeyTGK, KV: mikey.KVSPI, Key: tgk, SPI: []byte{0xa1, 0xa2}}}},
	}, ksNAF)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	reqFile, respFile := filepath.Join(dir, "req.bin"), filepath.Join(dir, "resp.bin")
	os.WriteFile(reqFile, req.Raw, 0o600)
	os.WriteFile(respFile, resp.Raw, 0o600)

	r := run(t, "", "mikey", "decode", "--psk", hex.EncodeToString(ksNAF), "-f", reqFile, "-f", respFile)
	r.want(t, ExitOK)
	for _, want := range []string{"source: file " + reqFile, "source: file " + respFile,
		"data type: 11 (REQUEST_INIT_PSK (RFC 6043))", "data type: 13 (REQUEST_RESP (RFC 6043))",
		"role: 4 (IDRpsk (pre-shared key))", "data: I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net",
		"MPKi length: 32", "type: 0 (TGK)", "key length: 16", "SPI: a1a2"} {
		if !has(r.stdout, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if countHas(r.stdout, "MAC: yes") != 2 || strings.Contains(r.stdout, hex.EncodeToString(mpki)) || strings.Contains(r.stdout, hex.EncodeToString(tgk)) {
		t.Errorf("output:\n%s", r.stdout)
	}
	r = run(t, "", "mikey", "decode", "--psk", hex.EncodeToString(ksNAF), "-f", reqFile, "-f", respFile, "--show-keys")
	r.want(t, ExitOK)
	if !has(r.stdout, "MPKi: "+hex.EncodeToString(mpki)) || !has(r.stdout, "key: "+hex.EncodeToString(tgk)) {
		t.Errorf("--show-keys:\n%s", r.stdout)
	}
	// The response alone: a note.
	r = run(t, "", "mikey", "decode", "--psk", hex.EncodeToString(ksNAF), "-f", respFile)
	r.want(t, ExitOK)
	if !has(r.stdout, "REQUEST_RESP is verified against its REQUEST_INIT_PSK") {
		t.Errorf("alone:\n%s", r.stdout)
	}
	// Arguments and files together are refused.
	run(t, "", "mikey", "decode", "-f", reqFile, "AQAF").want(t, ExitUsage)
}

// TRANSFER_INIT and TRANSFER_RESP (RFC 6043 §4.2.2) without key forking, in SDP offer and answer
// files, both verified with MPKi; the Responder-supplied key (M) is decrypted from TRANSFER_RESP.
func TestMIKEYDecodeTransferExchange(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{6})
	ts, _ := mikey.NewTNTPUTC(testNow)
	alice := &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:alice@example.com")}
	bob := &mikey.IDR{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:bob@example.com")}
	flags := mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH | mikey.FlagM
	ticket := &mikey.TICKET{Policy: mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: 1, TicketVersion: 1,
		PRF: mikey.PRFHMACSHA256, Flags: flags, Data: []mikey.Payload{alice, bob}}, TicketData: []byte{1, 2, 3}}
	mpki := bytes.Repeat([]byte{0x71}, 32)
	ti, _, err := mikey.BuildTransferInit(mikey.TransferInitParams{PRF: mikey.PRFHMACSHA256, T: ts, IDRi: alice, IDRr: bob,
		CryptoSessions: []mikey.GenericIDEntry{{CSID: 1, ProtType: mikey.ProtSRTP, PolicyNos: []uint8{0}}},
		SPs:            []*mikey.SP{{PolicyNo: 0, ProtType: mikey.ProtSRTP}}, Ticket: ticket,
		Keys: mikey.TicketKeys{MPKi: mpki}, MACAlg: mikey.MACHMACSHA256256, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := mikey.ParseMessage(ti.Raw)
	vti, err := mikey.VerifyTransferInit(parsed, mpki)
	if err != nil {
		t.Fatal(err)
	}
	ts2, _ := mikey.NewTNTPUTC(testNow.Add(time.Second))
	tr, _, err := mikey.BuildTransferResp(mikey.TransferRespParams{Init: vti, T: ts2, IDRr: bob,
		CryptoSessions: []mikey.GenericIDEntry{{CSID: 1, ProtType: mikey.ProtSRTP, PolicyNos: []uint8{0},
			SessionData: mikey.SRTPSessionData(0xcafe0001, false, 0, 0), SPI: []byte{0, 0, 0, 2}}},
		MPK:       mpki,
		KEMACKeys: []mikey.KeyData{{Type: mikey.KeyTGK, KV: mikey.KVSPI, Key: bytes.Repeat([]byte{0x72}, 16), SPI: []byte{0, 0, 0, 2}}},
		EncrAlg:   mikey.EncrAESCM128, MACAlg: mikey.MACHMACSHA256256, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	offer := filepath.Join(dir, "offer.sdp")
	answer := filepath.Join(dir, "answer.sdp")
	os.WriteFile(offer, []byte("v=0\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=key-mgmt:mikey "+base64.StdEncoding.EncodeToString(ti.Raw)+"\r\n"), 0o600)
	os.WriteFile(answer, []byte("v=0\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\na=key-mgmt:mikey "+base64.StdEncoding.EncodeToString(tr.Raw)+"\r\n"), 0o600)
	r := run(t, "", "mikey", "decode", "--mpk", hex.EncodeToString(mpki), "-f", offer, "-f", answer)
	r.want(t, ExitOK)
	for _, want := range []string{"source: file " + offer + ", media 1 (audio), line 4", "data type: 15 (TRANSFER_RESP (RFC 6043))",
		"SSRC: 0xcafe0001", "SPI: 00000002", "type: 0 (TGK)"} {
		if !has(r.stdout, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if countHas(r.stdout, "MAC: yes") != 2 {
		t.Errorf("output:\n%s", r.stdout)
	}
	// --psk does not apply to the Transfer exchange: a note, exit 0.
	r = run(t, "", "mikey", "decode", "--psk", "00", "-f", offer)
	r.want(t, ExitOK)
	if !has(r.stdout, "--psk does not apply to data type 14") {
		t.Errorf("output:\n%s", r.stdout)
	}
}
