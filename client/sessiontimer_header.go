package client

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The two header fields of SIP session timers (RFC 4028 §4, §5):
//
//	Session-Expires  = ("Session-Expires" / "x") HCOLON delta-seconds *(SEMI se-params)
//	se-params        = refresher-param / generic-param
//	refresher-param  = "refresher" EQUAL ("uas" / "uac")
//	Min-SE           = "Min-SE" HCOLON delta-seconds *(SEMI generic-param)
//
// delta-seconds is 1*DIGIT (RFC 3261 §25.1); an interval is taken from 1 s to
// maxSessionInterval.

var errDeltaSeconds = errors.New("delta-seconds expected")

// parseSessionExpires parses a Session-Expires value (RFC 4028 §4).
func parseSessionExpires(v string) (sessionExpires, error) {
	d, params, err := parseDeltaParams(v)
	if err != nil {
		return sessionExpires{}, fmt.Errorf("Session-Expires %q: %w", v, err)
	}
	se := sessionExpires{interval: d}
	for _, p := range params {
		if !strings.EqualFold(p.name, "refresher") {
			continue
		}
		if se.refresher != "" {
			return sessionExpires{}, fmt.Errorf("Session-Expires %q: at offset %d: refresher given twice", v, p.off)
		}
		switch strings.ToLower(p.value) {
		case "uac", "uas":
			se.refresher = strings.ToLower(p.value)
		default:
			return sessionExpires{}, fmt.Errorf("Session-Expires %q: at offset %d: refresher %q is neither uac nor uas", v, p.off, p.value)
		}
	}
	return se, nil
}

// parseMinSE parses a Min-SE value (RFC 4028 §5).
func parseMinSE(v string) (time.Duration, error) {
	d, _, err := parseDeltaParams(v)
	if err != nil {
		return 0, fmt.Errorf("Min-SE %q: %w", v, err)
	}
	return d, nil
}

type headerParam struct {
	name, value string
	off         int // of the name
}

// parseDeltaParams reads delta-seconds *(SEMI generic-param) with RFC 3261 §25.1 syntax:
// generic-param = token [EQUAL gen-value], gen-value = token / host / quoted-string, with
// linear white space allowed around SEMI and EQUAL.
func parseDeltaParams(v string) (time.Duration, []headerParam, error) {
	i := skipLWS(v, 0)
	start := i
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == start {
		return 0, nil, fmt.Errorf("at offset %d: %w", start, errDeltaSeconds)
	}
	d, ok := parseDeltaSeconds(v[start:i]) // register.go: RFC 3261 §25.1, overflow refused
	if !ok || d == 0 || d > maxSessionInterval {
		return 0, nil, fmt.Errorf("at offset %d: delta-seconds %s out of range 1..%d", start, v[start:i], int64(maxSessionInterval/time.Second))
	}
	var params []headerParam
	for {
		i = skipLWS(v, i)
		if i == len(v) {
			return d, params, nil
		}
		if v[i] != ';' {
			return 0, nil, fmt.Errorf("at offset %d: %q where ';' or the end was expected", i, v[i])
		}
		i = skipLWS(v, i+1)
		p := headerParam{off: i}
		j := i
		for j < len(v) && isTokenChar(v[j]) {
			j++
		}
		if j == i {
			return 0, nil, fmt.Errorf("at offset %d: parameter name expected", i)
		}
		p.name = v[i:j]
		i = skipLWS(v, j)
		if i < len(v) && v[i] == '=' {
			i = skipLWS(v, i+1)
			if i < len(v) && v[i] == '"' {
				end, err := quotedStringEnd(v, i)
				if err != nil {
					return 0, nil, err
				}
				p.value, i = v[i:end], end
			} else {
				j = i
				for j < len(v) && (isTokenChar(v[j]) || v[j] == ':' || v[j] == '[' || v[j] == ']') {
					j++
				}
				if j == i {
					return 0, nil, fmt.Errorf("at offset %d: value of parameter %q expected", i, p.name)
				}
				p.value, i = v[i:j], j
			}
		}
		params = append(params, p)
	}
}

// quotedStringEnd returns the offset just past the quoted-string starting at v[i] == '"'
// (RFC 3261 §25.1: quoted-pair escapes one character).
func quotedStringEnd(v string, i int) (int, error) {
	for j := i + 1; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("at offset %d: unterminated quoted-string", i)
}

func skipLWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n') {
		i++
	}
	return i
}

// isTokenChar: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
// (RFC 3261 §25.1).
func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", b) >= 0
}
