package sdes

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64enc(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
