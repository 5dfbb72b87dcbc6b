package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Input formats of mikey decode.
const (
	formatAuto   = "auto"
	formatBase64 = "base64"
	formatHex    = "hex"
	formatSDP    = "sdp"
	formatRaw    = "raw"
)

// mikeyInput is one encoded MIKEY message found in the input, with where it was found.
type mikeyInput struct {
	Source string // "input", or "session level, line 7" / "media 1 (audio), line 12"
	Line   int    // SDP line of the a=key-mgmt attribute, 0 otherwise
	Data   []byte
	Err    error // the message could not be decoded from its text form
}

var errNoKeyMgmt = errors.New("no a=key-mgmt:mikey attribute in the SDP/SIP input")

// extractMIKEY finds the MIKEY messages in data. In auto mode, input with an a=key-mgmt attribute
// is read as SDP (or a SIP message carrying SDP); otherwise it is one message in hex, base64 or
// binary. A leading "mikey " (the RFC 4567 prtcl-id) is accepted before hex or base64.
func extractMIKEY(data []byte, format string) ([]mikeyInput, error) {
	if format == formatAuto {
		format = detectFormat(data)
	}
	switch format {
	case formatSDP:
		return extractSDP(data)
	case formatRaw:
		return []mikeyInput{{Source: "input", Data: data}}, nil
	case formatHex, formatBase64:
		b, err := decodeText(string(data), format)
		return []mikeyInput{{Source: "input", Data: b, Err: err}}, nil
	}
	return nil, usageErrorf("--input-format %q: want auto, base64, hex, sdp or raw", format)
}

func detectFormat(data []byte) string {
	if bytes.Contains(bytes.ToLower(data), []byte("key-mgmt:")) {
		return formatSDP
	}
	// A MIKEY message starts with version 1 (RFC 3830 §6.1): in binary that is the byte 0x01,
	// which no text form starts with.
	if len(data) > 0 && data[0] == 0x01 || !utf8.Valid(data) {
		return formatRaw
	}
	s := stripText(string(data))
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !isHexDigit(r) }) < 0 {
		// Base64 of a MIKEY message starts with "AQ" (the version byte), which is not hex.
		return formatHex
	}
	return formatBase64
}

// stripText removes white space (line-wrapped base64 and spaced hex) and the "mikey " prtcl-id.
func stripText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 6 && strings.EqualFold(s[:6], "mikey ") {
		s = s[6:]
	}
	return strings.Join(strings.Fields(s), "")
}

func decodeText(text, format string) ([]byte, error) {
	s := stripText(text)
	if s == "" {
		return nil, errors.New("empty input")
	}
	if format == formatHex {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		if i := strings.IndexFunc(s, func(r rune) bool { return !isHexDigit(r) }); i >= 0 {
			return nil, fmt.Errorf("hex: invalid character %q at position %d", s[i], i)
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("hex: %w", err)
		}
		return b, nil
	}
	// RFC 4567 §3.1 uses base64 with padding (RFC 4648 §4); unpadded and URL-safe text is taken too,
	// since people paste it from other tools.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(s)
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return nil, fmt.Errorf("base64: invalid data at character %d", int64(ce))
	}
	return nil, fmt.Errorf("base64: %w", err)
}

// extractSDP finds every a=key-mgmt:mikey attribute (RFC 4567 §3.1) at session and media level of
// an SDP body, alone or inside a SIP message. Lines may end in CRLF or LF. A line that follows the
// attribute and holds only base64 characters is taken as its continuation, because RFC texts and
// mail clients wrap long attributes (RFC 4567 §5.1 prints its examples that way); real SDP has no
// such lines (RFC 4566 §5: one field per line).
func extractSDP(data []byte) ([]mikeyInput, error) {
	lines := strings.Split(string(data), "\n")
	var out []mikeyInput
	level, media := "session level", 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if strings.HasPrefix(line, "m=") {
			media++
			name := strings.Fields(line[2:])
			kind := "?"
			if len(name) > 0 {
				kind = name[0]
			}
			level = fmt.Sprintf("media %d (%s)", media, kind)
			continue
		}
		value, ok := cutPrefixFold(line, "a=key-mgmt:")
		if !ok {
			continue
		}
		prtcl, rest, _ := strings.Cut(strings.TrimSpace(value), " ")
		if !strings.EqualFold(prtcl, "mikey") {
			continue // another key management protocol (RFC 4567 §3.1 prtcl-id)
		}
		text := rest
		for i+1 < len(lines) && isBase64Continuation(strings.TrimSpace(strings.TrimSuffix(lines[i+1], "\r"))) {
			i++
			text += strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		}
		in := mikeyInput{Source: fmt.Sprintf("%s, line %d", level, lineNo(lines, line, i)), Line: lineNo(lines, line, i)}
		in.Data, in.Err = decodeText(text, formatBase64)
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, errNoKeyMgmt
	}
	return out, nil
}

// lineNo is the 1-based number of the line where the attribute began (i may have moved past
// continuation lines).
func lineNo(lines []string, first string, i int) int {
	for j := i; j >= 0; j-- {
		if strings.TrimSpace(strings.TrimSuffix(lines[j], "\r")) == first {
			return j + 1
		}
	}
	return i + 1
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

func isBase64Continuation(s string) bool {
	if s == "" || len(s) >= 2 && s[1] == '=' && s[0] >= 'a' && s[0] <= 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
