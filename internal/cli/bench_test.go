package cli

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// BenchmarkMIKEYDescribe measures parsing and rendering the RFC 4567 offer as text and as JSON, the
// per-message cost of mikey decode on a long SIP trace.
func BenchmarkMIKEYDescribe(b *testing.B) {
	msg, _ := base64.StdEncoding.DecodeString(rfc4567Offer)
	for _, asJSON := range []bool{false, true} {
		name := "text"
		if asJSON {
			name = "json"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := mikey.ParseMessage(msg)
				if err != nil {
					b.Fatal(err)
				}
				o := (&obj{}).add("HDR", "hdr", describeHDR(&m.HDR)).add("payload", "payloads", describePayloads(m.Payloads, false))
				if err := emit(io.Discard, o, asJSON); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExtractSDP measures finding and decoding the key-mgmt lines of a SIP INVITE.
func BenchmarkExtractSDP(b *testing.B) {
	sip := []byte("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=key-mgmt:mikey " + rfc4567Offer + "\r\nm=audio 1 RTP/SAVP 0\r\n" +
		"a=key-mgmt:mikey " + rfc4567Answer + "\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(sip)))
	for b.Loop() {
		ins, err := extractMIKEY(sip, formatAuto)
		if err != nil || len(ins) != 2 {
			b.Fatal(err)
		}
	}
}

// BenchmarkAKA is one aka command run in-process (flag parsing, OPc, f1–f5, text output).
func BenchmarkAKA(b *testing.B) {
	args := []string{"aka", "--k", set1K, "--op", set1OP, "--rand", set1RAND, "--autn", "55f328b43577b9b94a9ffac354dfafb3"}
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if code := Execute(b.Context(), Env{Stdout: &out}, args); code != 0 {
			b.Fatal(code)
		}
	}
}

// BenchmarkParseAccount parses configs/alice.yaml (every field, AKA keys) as register, call
// and answer do at start.
func BenchmarkParseAccount(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "alice.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseAccount("alice.yaml", data, noSecrets); err != nil {
			b.Fatal(err)
		}
	}
}
