package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// The two MIKEY messages of RFC 4567 §5.1 (Example 1, SIP/SDP), from the a=key-mgmt lines of
// /work/shared/specs/rfc/rfc4567.txt (lines 919-921 and 961-962) with the line breaks removed.
const (
	rfc4567Offer  = "AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2UaDX8ZE22YwKAAAPZG9uYWxkQGR1Y2suY29tAQAAAAAAAQAk0JKpgaVkDaawi9whVBtBt0KZ14ymNuu62+Nv3ozPLygwK/GbAV9iemnGUIZ19fWQUOSrzKTAv9zV"
	rfc4567Answer = "AQEFgM0XflABAAAAAAAAAAAAAAYAyONQ6gAAAAAJAAAQbWlja2V5QG1vdXNlLmNvbQABn8HdGE5BMDXFIuGEga+62AgY5cc="
)

// The field values below were read from the RFC 3830 §6 layouts by hand (T = c8e350ea00000000 NTP-UTC,
// RAND 4a28…8c, IDi "donald@duck.com", an empty SRTP SP, KEMAC AES-CM-128 with 36 bytes and an
// HMAC-SHA-1-160 MAC 5f627a69…dcd5; the answer: data type 1, IDr "mickey@mouse.com", V).
func TestMIKEYDecodeRFC4567Offer(t *testing.T) {
	r := run(t, "", "mikey", "decode", rfc4567Offer)
	r.want(t, ExitOK)
	for _, want := range []string{
		"length:   132",
		"data type:              0 (Pre-shared key init (RFC 3830))",
		"V (response expected):  yes",
		"PRF func:               0 (MIKEY-1)",
		"CSB ID:                 0xcd177e50",
		"CS ID map type:         0 (SRTP-ID)",
		"TS value:  c8e350ea00000000",
		"RAND:     4a28da979ee21a7651a0d7f19136d98c",
		"data:     donald@duck.com",
		"Prot type:  0 (SRTP)",
		"Encr alg:          1 (AES-CM-128)",
		"Encr data length:  36",
		"MAC alg:           1 (HMAC-SHA-1-160)",
		"MAC:               5f627a69c6508675f5f59050e4abcca4c0bfdcd5",
	} {
		if !has(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(r.stdout)
	}
}

func TestMIKEYDecodeRFC4567AnswerJSON(t *testing.T) {
	// Also: the "mikey " prtcl-id prefix and stdin.
	r := run(t, "mikey "+rfc4567Answer+"\n", "mikey", "decode", "--json")
	r.want(t, ExitOK)
	var v struct {
		Messages []struct {
			Length int `json:"length"`
			HDR    struct {
				DataType struct{ Value int } `json:"data_type"`
				V        bool                `json:"v"`
				CSBID    string              `json:"csb_id"`
			} `json:"hdr"`
			Payloads []map[string]any `json:"payloads"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(v.Messages) != 1 {
		t.Fatalf("%d messages", len(v.Messages))
	}
	m := v.Messages[0]
	if m.Length != 71 || m.HDR.DataType.Value != 1 || !m.HDR.V || m.HDR.CSBID != "0xcd177e50" || len(m.Payloads) != 3 {
		t.Fatalf("%+v", m)
	}
	if m.Payloads[1]["data"] != "mickey@mouse.com" {
		t.Errorf("IDr %v", m.Payloads[1])
	}
	if m.Payloads[2]["mac"] != "9fc1dd184e413035c522e18481afbad80818e5c7" {
		t.Errorf("V %v", m.Payloads[2])
	}
}

// The RFC 4567 §5.1 offer SDP exactly as printed in the RFC (base64 wrapped over three lines), and
// the Example 2 form with the attribute at media level, inside a SIP INVITE with CRLF line ends.
func TestMIKEYDecodeSDPFile(t *testing.T) {
	dir := t.TempDir()
	sdp := "v=0\no=alice 2891092738 2891092738 IN IP4 w-land.example.com\ns=Cool stuff\ne=alice@w-land.example.com\nt=0 0\n" +
		"c=IN IP4 w-land.example.com\n" +
		"a=key-mgmt:mikey AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2\n" +
		"UaDX8ZE22YwKAAAPZG9uYWxkQGR1Y2suY29tAQAAAAAAAQAk0JKpgaVkDaawi9whVBtBt\n" +
		"0KZ14ymNuu62+Nv3ozPLygwK/GbAV9iemnGUIZ19fWQUOSrzKTAv9zV\n" +
		"m=audio 49000 RTP/SAVP 98\na=rtpmap:98 AMR/8000\nm=video 52230 RTP/SAVP 31\na=rtpmap:31 H261/90000\n"
	p1 := filepath.Join(dir, "offer.sdp")
	if err := os.WriteFile(p1, []byte(sdp), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", "mikey", "decode", "--file", p1)
	r.want(t, ExitOK)
	if !strings.Contains(r.stdout, "source:   session level, line 7") || !strings.Contains(r.stdout, "donald@duck.com") ||
		!strings.Contains(r.stdout, "MIKEY message 1 of 1") {
		t.Errorf("session level:\n%s", r.stdout)
	}

	body := "v=0\r\no=bob 1 1 IN IP4 foo.example.com\r\ns=-\r\nt=0 0\r\nc=IN IP4 foo.example.com\r\n" +
		"a=key-mgmt:mikey " + rfc4567Offer + "\r\n" +
		"m=audio 49030 RTP/SAVP 98\r\na=rtpmap:98 AMR/8000\r\na=key-mgmt:mikey " + rfc4567Answer + "\r\n" +
		"m=video 52230 RTP/AVP 31\r\na=key-mgmt:other AAAA\r\n"
	sip := "INVITE sip:bob@foo.example.com SIP/2.0\r\nVia: SIP/2.0/UDP w-land.example.com;branch=z9hG4bK74bf9\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	p2 := filepath.Join(dir, "invite.sip")
	if err := os.WriteFile(p2, []byte(sip), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "mikey", "decode", "-f", p2, "--json")
	r.want(t, ExitOK)
	var v struct {
		Messages []struct {
			Source string `json:"source"`
			Length int    `json:"length"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) != 2 || v.Messages[0].Source != "session level, line 11" || v.Messages[0].Length != 132 ||
		v.Messages[1].Source != "media 1 (audio), line 14" || v.Messages[1].Length != 71 {
		t.Errorf("messages %+v", v.Messages)
	}

	// An SDP without a MIKEY attribute is an error, not an empty result.
	p3 := filepath.Join(dir, "plain.sdp")
	os.WriteFile(p3, []byte("v=0\r\na=key-mgmt:other AAAA\r\nm=audio 1 RTP/AVP 0\r\n"), 0o600)
	r = run(t, "", "mikey", "decode", "--file", p3)
	r.want(t, ExitError)
	if !strings.Contains(r.stderr, "no a=key-mgmt:mikey attribute") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestMIKEYDecodeMalformed(t *testing.T) {
	offer, _ := base64.StdEncoding.DecodeString(rfc4567Offer)
	cases := []struct {
		name, in string
		args     []string
		want     string
	}{
		// Cut inside the KEMAC's Encr data: the parser names the field and the offset.
		{"truncated", base64.StdEncoding.EncodeToString(offer[:100]), nil, "at offset"},
		{"bad version", hex.EncodeToString(append([]byte{2}, offer[1:]...)), nil, "at offset 0"},
		{"trailing bytes", hex.EncodeToString(append(append([]byte{}, offer...), 0)), nil, "at offset 132"},
		{"not base64", "AQAF!!!!", nil, "base64: invalid data at character 4"},
		{"not hex", "01 00 zz", []string{"--input-format", "hex"}, "hex: invalid character 'z' at position 4"},
		{"empty", "", nil, "empty input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.in, append([]string{"mikey", "decode"}, c.args...)...)
			r.want(t, ExitError)
			if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "message 1 (input)") {
				t.Errorf("stderr %q lacks %q", r.stderr, c.want)
			}
		})
	}
	// The JSON form carries the offset as a number.
	r := run(t, base64.StdEncoding.EncodeToString(offer[:100]), "mikey", "decode", "--json")
	r.want(t, ExitError)
	var v struct {
		Messages []struct {
			Offset *int   `json:"error_offset"`
			Field  string `json:"error_field"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || len(v.Messages) != 1 || v.Messages[0].Offset == nil {
		t.Fatalf("%v %s", err, r.stdout)
	}
	if *v.Messages[0].Offset <= 0 || *v.Messages[0].Offset > 100 || !strings.Contains(v.Messages[0].Field, "KEMAC") {
		t.Errorf("offset %d field %q", *v.Messages[0].Offset, v.Messages[0].Field)
	}
}

// A PSK init built with keymgmt/mikey's builder and decrypted with --psk: the KEMAC's TGK is shown
// by type, length and SPI, and its bytes only with --show-keys.
func TestMIKEYDecodePSKInit(t *testing.T) {
	psk := bytes.Repeat([]byte{0x11}, 16)
	tgk := []byte("0123456789abcdef")
	ts, _ := mikey.NewTNTPUTC(time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC))
	m, _, err := mikey.BuildPSKInit(mikey.PSKInitParams{
		CSBID: 0x01020304, T: ts, WantVerify: true,
		SRTPIDs: []mikey.SRTPIDEntry{{PolicyNo: 0, SSRC: 0xdeadbeef, ROC: 7}},
		IDi:     &mikey.ID{Type: mikey.IDTypeURI, Data: []byte("sip:alice@example.com")},
		SPs:     []*mikey.SP{{PolicyNo: 0, ProtType: mikey.ProtSRTP, Params: []mikey.SPParam{mikey.SRTPParamUint8(mikey.SPAuthTagLen, 4)}}},
		Keys:    []mikey.KeyData{{Type: mikey.KeyTGK, KV: mikey.KVSPI, Key: tgk, SPI: []byte{0xab, 0xcd}}},
		EncrAlg: mikey.EncrAESCM128, MACAlg: mikey.MACHMACSHA1160, Rand: rand.NewChaCha8([32]byte{2}),
	}, psk)
	if err != nil {
		t.Fatal(err)
	}
	msg := hex.EncodeToString(m.Raw)
	r := run(t, "", "mikey", "decode", msg, "--psk", hex.EncodeToString(psk))
	r.want(t, ExitOK)
	for _, want := range []string{"SSRC:       0xdeadbeef", "ROC:        7", "sip:alice@example.com",
		"type:    11 (Authentication tag length)", "MAC:   yes", "type:        0 (TGK)", "key length:  16",
		"SPI:         abcd", "SPI length:  2"} {
		if !has(r.stdout, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, hex.EncodeToString(tgk)) || strings.Contains(r.stderr, "warning") {
		t.Errorf("key shown without --show-keys")
	}
	r = run(t, "", "mikey", "decode", msg, "--key", hex.EncodeToString(psk), "--show-keys")
	r.want(t, ExitOK)
	if !has(r.stdout, "key: "+hex.EncodeToString(tgk)) || !strings.Contains(r.stderr, "warning: --show-keys") {
		t.Errorf("--show-keys: stdout\n%s\nstderr %s", r.stdout, r.stderr)
	}
	// A wrong PSK fails the MAC: exit 5, no keys.
	r = run(t, "", "mikey", "decode", msg, "--psk", strings.Repeat("22", 16))
	r.want(t, ExitMACFailed)
	if strings.Contains(r.stdout, "key length") || !has(r.stdout, "MAC: no") {
		t.Errorf("wrong PSK:\n%s", r.stdout)
	}
}

// A TRANSFER_INIT built with keymgmt/mikey's builder (RFC 6043 §4.2.2.1) with key forking (I, so
// Initiator Data with Vi and Vr), Initiator-supplied keys (L, so a KEMAC), a GENERIC-ID map with
// SSRC/ROC/SEQ/SPI and a ticket whose policy lists IDRs and TRs. Every field must be printed, and
// with --mpk the KEMAC is decrypted.
func TestMIKEYDecodeTransferInit(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{3})
	now := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	ts, _ := mikey.NewT(mikey.TSNTPUTC32, now)
	alice := &mikey.IDR{Role: mikey.IDRoleI, Type: mikey.IDTypeURI, Data: []byte("sip:alice@example.com")}
	bob := &mikey.IDR{Role: mikey.IDRoleR, Type: mikey.IDTypeURI, Data: []byte("sip:bob@example.com")}
	kms := &mikey.IDR{Role: mikey.IDRoleKMS, Type: mikey.IDTypeURI, Data: []byte("https://kms.example.com")}
	trs, _ := mikey.TimeToNTP32(now)
	tre, _ := mikey.TimeToNTP32(now.Add(time.Hour))
	flags := mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagG | mikey.FlagH | mikey.FlagI | mikey.FlagL
	policy := mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: mikey.PRFHMACSHA256, Flags: flags,
		Data: []mikey.Payload{kms, alice,
			&mikey.TR{Role: mikey.TSRoleS, TSType: mikey.TSNTPUTC32, Value: uint64(trs)},
			&mikey.TR{Role: mikey.TSRoleE, TSType: mikey.TSNTPUTC32, Value: uint64(tre)},
			&mikey.TR{Role: mikey.TSRoleR, TSType: mikey.TSNTPUTC32, Value: 600},
			bob}}
	ticket, err := mikey.CreateBaseTicket(mikey.BaseTicketParams{Policy: policy, KeyID: 7, TPK: bytes.Repeat([]byte{0x77}, 16),
		T: ts, Rand: rnd, Keys: []mikey.KeyData{{Type: mikey.KeyTGK, KV: mikey.KVSPI, Key: bytes.Repeat([]byte{0x55}, 16), SPI: []byte{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	mpki := bytes.Repeat([]byte{0x42}, 32)
	mpkr := bytes.Repeat([]byte{0x43}, 32)
	sessKey := bytes.Repeat([]byte{0x99}, 16)
	sp, err := mikey.SRTPPolicyFor(0, 1 /* AES_CM_128_HMAC_SHA1_80 */)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := mikey.BuildTransferInit(mikey.TransferInitParams{
		PRF: mikey.PRFHMACSHA256, CSBID: 0x0badcafe, T: ts, IDRi: alice, IDRr: bob,
		CryptoSessions: []mikey.GenericIDEntry{
			{CSID: 1, ProtType: mikey.ProtSRTP, S: true, PolicyNos: []uint8{0},
				SessionData: mikey.SRTPSessionData(0x11223344, true, 5, 0x1234), SPI: []byte{0, 0, 0, 1}},
			{CSID: 2, ProtType: mikey.ProtSRTP, PolicyNos: []uint8{0}},
		},
		SPs: []*mikey.SP{sp}, Ticket: ticket,
		Keys:      mikey.TicketKeys{MPKi: mpki, MPKr: mpkr},
		KEMACKeys: []mikey.KeyData{{Type: mikey.KeyTEKSalt, KV: mikey.KVSPI, Key: sessKey, Salt: bytes.Repeat([]byte{7}, 14), SPI: []byte{0, 0, 0, 9}}},
		EncrAlg:   mikey.EncrAESCM128, MACAlg: mikey.MACHMACSHA256256, Rand: rnd,
	})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(m.Raw)
	r := run(t, "", "mikey", "decode", b64)
	r.want(t, ExitOK)
	vi := m.V()
	for _, want := range []string{
		"data type:              14 (TRANSFER_INIT (RFC 6043))",
		"PRF func:               1 (PRF-HMAC-SHA-256)",
		"CSB ID:                 0x0badcafe",
		"CS ID map type:         2 (GENERIC-ID (RFC 6043))",
		// GENERIC-ID entry 1 with Session Data SSRC/ROC/SEQ and SPI; entry 2 empty
		"GENERIC-ID[0]:", "S (ROC and SEQ present):  yes", "SSRC:                     0x11223344",
		"ROC:                      5", "SEQ:                      4660", "SPI:                      00000001",
		"GENERIC-ID[1]:", "Session Data length:      0",
		"TS type:   3 (NTP-UTC-32)",
		"role:     1 (RANDRi)",
		"role:     1 (IDRi (Initiator))", "role:     2 (IDRr (Responder))", "role:     3 (IDRkms (KMS))",
		"data:     sip:bob@example.com", "data:     https://kms.example.com",
		"type:    11 (Authentication tag length)",
		"Encr alg:          1 (AES-CM-128)", "MAC alg:           0 (NULL)",
		// TICKET: policy with flags by letter, TRs/TRe/TRr, Ticket Data and Initiator Data (Vi, Vr)
		"Ticket Type:  1 (MIKEY base ticket)", "flags:        DEFGHI--L---", "flags set:    D, E, F, G, H, I, L",
		"role:     2 (TRs (start of validity))", "role:     3 (TRe (end of validity))",
		"role:           4 (TRr (rekeying interval))", "interval (s):   600",
		"time:     2026-11-26T19:00:00Z", "time:     2026-11-26T20:00:00Z",
		"Ticket Data length: " + strconv.Itoa(len(ticket.TicketData)), "Ticket Data: " + hex.EncodeToString(ticket.TicketData),
		// the base ticket inside (RFC 6043 A.1): THDR with our TPK key id, T, RAND, KEMAC, V
		"THDR Data: 0100000007", "TPK key id: 7",
		"Initiator Data[0]:", "Initiator Data[1]:",
		"MAC alg:  2 (HMAC-SHA-256-256)", "MAC:      " + hex.EncodeToString(vi.MAC),
	} {
		if !has(r.stdout, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if !strings.Contains(r.stdout, "Initiator Data length:  ") || strings.Contains(r.stdout, "Initiator Data length:  0\n") {
		t.Errorf("Initiator Data length")
	}
	if t.Failed() {
		t.Log(r.stdout)
	}

	// --mpk: V verified, the Initiator-supplied TEK+SALT decrypted (type, lengths, SPI).
	r = run(t, "", "mikey", "decode", b64, "--mpk", hex.EncodeToString(mpki), "--json")
	r.want(t, ExitOK)
	var v struct {
		Messages []struct {
			Verification struct {
				Key       string           `json:"key"`
				MAC       bool             `json:"mac_verified"`
				KEMACKeys []map[string]any `json:"kemac_keys"`
			} `json:"verification"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatal(err)
	}
	ver := v.Messages[0].Verification
	if ver.Key != "MPKi" || !ver.MAC || len(ver.KEMACKeys) != 1 {
		t.Fatalf("verification %+v", ver)
	}
	k := ver.KEMACKeys[0]
	if k["key_length"] != 16.0 || k["salt_length"] != 14.0 || k["spi"] != "00000009" || k["key"] != nil {
		t.Errorf("key %v", k)
	}
	if strings.Contains(r.stdout, hex.EncodeToString(sessKey)) {
		t.Error("session key printed without --show-keys")
	}
	// The wrong MPKi fails the V MAC.
	r = run(t, "", "mikey", "decode", b64, "--mpk", strings.Repeat("00", 32))
	r.want(t, ExitMACFailed)
}
