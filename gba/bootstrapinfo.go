package gba

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// BootstrappingInfoNS is the XML namespace of the BootstrappingInfo document (TS 24.109 Annex C).
const BootstrappingInfoNS = "uri:3gpp-gba"

// BootstrappingInfoContentType is the media type of the BSF's 200 OK body (TS 24.109 Annex C,
// registered with IANA).
const BootstrappingInfoContentType = "application/vnd.3gpp.bsf+xml"

// BootstrappingInfo is the body of the BSF's final Ub response (TS 24.109 Annex C): the B-TID and
// the key lifetime, the instant Ks expires.
type BootstrappingInfo struct {
	BTID     string
	Lifetime time.Time
}

// ParseBootstrappingInfo parses a BootstrappingInfo document. The root must be BootstrappingInfo in
// namespace uri:3gpp-gba (a root without any namespace is accepted, as some BSFs omit it); btid
// and lifetime must each appear once; Extension and unknown elements and attributes are ignored
// (Annex C: xs:any lax). lifetime is an xs:dateTime with a time zone ("Z" per Annex C, an offset is
// converted to UTC) and optional fractional seconds.
func ParseBootstrappingInfo(b []byte) (*BootstrappingInfo, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var bi BootstrappingInfo
	var haveBTID, haveLifetime, haveRoot bool
	depth := 0
	var field string // child of the root whose text is being collected
	var text strings.Builder
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("BootstrappingInfo: malformed XML near offset %d: %w", off, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && haveRoot:
				return nil, fmt.Errorf("BootstrappingInfo: second root element <%s> at offset %d", t.Name.Local, off)
			case depth == 1:
				if t.Name.Local != "BootstrappingInfo" {
					return nil, fmt.Errorf("BootstrappingInfo: root element is <%s> at offset %d, want <BootstrappingInfo>", t.Name.Local, off)
				}
				if t.Name.Space != BootstrappingInfoNS && t.Name.Space != "" {
					return nil, fmt.Errorf("BootstrappingInfo: root namespace %q at offset %d, want %q", t.Name.Space, off, BootstrappingInfoNS)
				}
				haveRoot = true
			case depth == 2 && (t.Name.Space == "" || t.Name.Space == BootstrappingInfoNS) && (t.Name.Local == "btid" || t.Name.Local == "lifetime"):
				if (t.Name.Local == "btid" && haveBTID) || (t.Name.Local == "lifetime" && haveLifetime) {
					return nil, fmt.Errorf("BootstrappingInfo: duplicate <%s> at offset %d", t.Name.Local, off)
				}
				field = t.Name.Local
				text.Reset()
			case depth == 3 && field != "":
				return nil, fmt.Errorf("BootstrappingInfo: element <%s> inside <%s> at offset %d", t.Name.Local, field, off)
			}
		case xml.CharData:
			if depth == 2 && field != "" {
				text.Write(t)
			} else if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("BootstrappingInfo: text outside the root element at offset %d", off)
			}
		case xml.EndElement:
			if depth == 2 && field != "" {
				v := strings.TrimSpace(text.String())
				switch field {
				case "btid":
					if v == "" {
						return nil, fmt.Errorf("BootstrappingInfo: empty <btid> at offset %d", off)
					}
					bi.BTID, haveBTID = v, true
				case "lifetime":
					lt, err := parseLifetime(v)
					if err != nil {
						return nil, fmt.Errorf("BootstrappingInfo: <lifetime> at offset %d: %w", off, err)
					}
					bi.Lifetime, haveLifetime = lt, true
				}
				field = ""
			}
			depth--
		case xml.Directive:
			return nil, fmt.Errorf("BootstrappingInfo: unexpected directive <!%s> at offset %d", truncate(string(t), 20), off)
		}
	}
	switch {
	case !haveRoot:
		return nil, errors.New("BootstrappingInfo: no root element (empty document)")
	case !haveBTID:
		return nil, errors.New("BootstrappingInfo: <btid> missing")
	case !haveLifetime:
		return nil, errors.New("BootstrappingInfo: <lifetime> missing")
	}
	return &bi, nil
}

func parseLifetime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		if _, e2 := time.Parse("2006-01-02T15:04:05.999999999", v); e2 == nil {
			return time.Time{}, fmt.Errorf("%q has no time zone (TS 24.109 Annex C wants UTC, \"Z\")", v)
		}
		return time.Time{}, fmt.Errorf("%q is not an xs:dateTime: %w", v, err)
	}
	return t.UTC(), nil
}

// isXMLChar is the Char production of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0a || r == 0x0d || r >= 0x20 && r <= 0xd7ff ||
		r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Marshal encodes b as a BootstrappingInfo document with an XML declaration, lifetime in UTC with
// "Z" (fractional seconds only when non-zero).
func (b *BootstrappingInfo) Marshal() ([]byte, error) {
	if b.BTID == "" {
		return nil, errors.New("BootstrappingInfo: empty B-TID")
	}
	if strings.TrimSpace(b.BTID) != b.BTID {
		return nil, errors.New("BootstrappingInfo: B-TID has leading or trailing white space")
	}
	for i, r := range b.BTID {
		if !isXMLChar(r) || (r == utf8.RuneError && !strings.HasPrefix(b.BTID[i:], "\uFFFD")) {
			return nil, fmt.Errorf("BootstrappingInfo: B-TID has a character XML cannot carry at offset %d", i)
		}
	}
	if b.Lifetime.IsZero() {
		return nil, errors.New("BootstrappingInfo: zero lifetime")
	}
	lt := b.Lifetime.UTC()
	if y := lt.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("BootstrappingInfo: lifetime year %d is outside 0000–9999", y)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header[:len(xml.Header)-1]) // declaration, then one '\n'
	buf.WriteString("\n<BootstrappingInfo xmlns=\"" + BootstrappingInfoNS + "\"><btid>")
	if err := xml.EscapeText(&buf, []byte(b.BTID)); err != nil {
		return nil, fmt.Errorf("BootstrappingInfo: %w", err)
	}
	buf.WriteString("</btid><lifetime>")
	buf.WriteString(lt.Format(time.RFC3339Nano))
	buf.WriteString("</lifetime></BootstrappingInfo>")
	return buf.Bytes(), nil
}
