package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/imsphone/imsphone/gba"
)

// ErrNetworkAuth is wrapped (with ErrRegister) when the USIM finds that a registrar's AKA
// challenge was not made by the home network: MAC-A in AUTN does not verify (TS 33.102
// §6.3.3). The registrar is told by one answer over an empty password without auts; no RES,
// nor anything else derived from K, is sent.
var ErrNetworkAuth = errors.New("client: network authentication failed (AKA AUTN MAC invalid)")

// credentials answer challenges: a password for Digest MD5 and SHA-256 (RFC 2617, RFC 8760)
// and a USIM for IMS AKA (RFC 3310 AKAv1-MD5, RFC 4169 AKAv2-MD5).
type credentials struct {
	username, password string
	usim               gba.USIM
	rand               io.Reader
}

// answered is one Authorization (or Proxy-Authorization) built for a challenge.
type answered struct {
	header  sip.Header
	outcome gba.AKAOutcome // AKA only
	aka     *gba.DigestAKAAnswer
}

// challengeHeaders names the challenge header of a 401 or 407 and the answer header that goes
// with it (RFC 3261 §22.2, §22.3).
func challengeHeaders(code int) (challenge, answer string) {
	if code == sip.StatusProxyAuthRequired {
		return "Proxy-Authenticate", "Proxy-Authorization"
	}
	return "WWW-Authenticate", "Authorization"
}

// isAKA reports whether alg is one of the IMS AKA Digest algorithms.
func isAKA(alg string) bool {
	return strings.EqualFold(alg, gba.AlgorithmAKAv1MD5) || strings.EqualFold(alg, gba.AlgorithmAKAv2MD5)
}

// isPasswordDigest reports whether we answer alg with a password: MD5 (also when absent,
// RFC 2617 §3.2.1) or SHA-256 (RFC 8760 §2.2; icholy/digest computes both).
func isPasswordDigest(alg string) bool {
	return alg == "" || strings.EqualFold(alg, "MD5") || strings.EqualFold(alg, "SHA-256")
}

// answer builds the answer to the first challenge of res that the credentials can meet (RFC
// 8760 §2.4: the server lists its preferred algorithm first, the client takes the first it
// supports). method, uri and body are those of the request being re-sent (uri is the
// Request-URI, RFC 3261 §22.4).
func (c *credentials) answer(ctx context.Context, res *sip.Response, method string, uri string, body []byte) (*answered, error) {
	chName, ansName := challengeHeaders(res.StatusCode)
	hdrs := res.GetHeaders(chName)
	if len(hdrs) == 0 {
		return nil, fmt.Errorf("%d without %s", res.StatusCode, chName)
	}
	var algs []string
	for _, h := range hdrs {
		ch, err := gba.ParseChallenge(h.Value())
		if err != nil {
			algs = append(algs, "unparsable")
			continue
		}
		algs = append(algs, ch.Algorithm)
		switch {
		case isAKA(ch.Algorithm) && c.usim != nil:
			cl := &gba.DigestAKAClient{USIM: c.usim, Username: c.username, Rand: c.rand}
			a, err := cl.Answer(ctx, ch, method, uri, body, 1)
			if err != nil {
				return nil, fmt.Errorf("%s challenge: %w", ch.Algorithm, err)
			}
			return &answered{header: sip.NewHeader(ansName, a.Credentials.String()), outcome: a.Outcome, aka: a}, nil
		case isPasswordDigest(ch.Algorithm) && c.password != "":
			dch, err := digest.ParseChallenge(h.Value())
			if err != nil {
				return nil, fmt.Errorf("%s challenge: %w", chName, err)
			}
			dch.Algorithm = strings.ToUpper(dch.Algorithm)
			cred, err := digest.Digest(dch, digest.Options{Method: method, URI: uri, Username: c.username,
				Password: c.password, Count: 1,
				GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }})
			if err != nil {
				return nil, fmt.Errorf("%s challenge: %w", chName, err)
			}
			return &answered{header: sip.NewHeader(ansName, cred.String())}, nil
		}
	}
	have := "no password and no USIM"
	switch {
	case c.password != "" && c.usim != nil:
		have = "a password and a USIM"
	case c.password != "":
		have = "a password"
	case c.usim != nil:
		have = "a USIM"
	}
	return nil, fmt.Errorf("no challenge we can answer with %s (algorithms %q)", have, algs)
}
