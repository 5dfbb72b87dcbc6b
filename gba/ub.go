package gba

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// Errors of the Ub client; the returned errors wrap them and add the step, URL and status.
var (
	ErrBSFForbidden = errors.New("BSF refused bootstrapping (403 Forbidden)")
	ErrBSFServer    = errors.New("BSF server error (5xx)")
	ErrBSFRejected  = errors.New("BSF rejected the Digest AKA response")
	ErrBSFProtocol  = errors.New("BSF protocol error")
	ErrRspAuth      = errors.New("Authentication-Info rspauth does not verify (response not from a BSF holding XRES, or body altered)")
	ErrResyncLoop   = errors.New("BSF keeps sending stale challenges after resynchronisation")
)

// DefaultUbUserAgent is the User-Agent of TS 24.109 Table A.3-1 without the 3gpp-gba-tmpi token
// (this client does not use TMPI).
const DefaultUbUserAgent = "Bootstrapping Client Agent; Release-6"

const maxUbBody = 64 << 10

// Bootstrap is the UE's bootstrapped security association (TS 33.220 §4.5.2): B-TID, RAND,
// Ks = CK ‖ IK, the key lifetime and the IMPI it belongs to.
type Bootstrap struct {
	BTID     string
	RAND     []byte
	Ks       []byte
	Lifetime time.Time
	IMPI     string
}

// String redacts Ks.
func (b *Bootstrap) String() string {
	return fmt.Sprintf("Bootstrap{B-TID:%s, IMPI:%s, Lifetime:%s, Ks:[redacted]}", b.BTID, b.IMPI, b.Lifetime.Format(time.RFC3339))
}

// LogValue redacts Ks.
func (b *Bootstrap) LogValue() slog.Value {
	return slog.GroupValue(slog.String("btid", b.BTID), slog.String("impi", b.IMPI), slog.Time("lifetime", b.Lifetime))
}

// Zero wipes Ks.
func (b *Bootstrap) Zero() { clear(b.Ks) }

// KsNAF derives Ks_(ext)_NAF for naf (TS 33.220 B.3).
func (b *Bootstrap) KsNAF(naf NAFID) []byte { return DeriveKsNAF(b.Ks, b.RAND, b.IMPI, naf) }

// Valid reports whether the key is still usable at now.
func (b *Bootstrap) Valid(now time.Time) bool { return now.Before(b.Lifetime) }

// UbClient runs GBA bootstrapping over Ub (TS 24.109 clause 4 and Annex A; TS 33.220 §4.5.2):
//
//	GET with Authorization: Digest username=IMPI, empty nonce and response
//	← 401 WWW-Authenticate: Digest nonce=base64(RAND‖AUTN‖…), algorithm=AKAv1-MD5, qop="auth-int"
//	GET with the AKA response (qop=auth-int over the empty body)
//	← 200 Authentication-Info: rspauth (over the BootstrappingInfo body), BootstrappingInfo
//
// and, on a stale SQN, re-sends with auts (TS 24.109 §4.5, A.4) and answers the new challenge.
type UbClient struct {
	// BSFURL is the BSF's Ub URL, e.g. "http://bsf.home1.net/" (plain HTTP, port 80 by default,
	// TS 24.109 A.3). Its path is the digest-uri ("/" if empty).
	BSFURL string
	USIM   USIM
	// HTTPClient defaults to a client with a 30 s timeout. Its Timeout and the context both bound
	// every request.
	HTTPClient *http.Client
	// Realm is the realm to expect in the challenge; "" accepts any. The initial request carries
	// Realm, or the BSF host name if Realm is "" (TS 24.109 Table A.3-1).
	Realm string
	// Rand is the source of cnonce (nil: crypto/rand).
	Rand io.Reader
	// Clock (nil: time.Now) checks that the lifetime received is in the future.
	Clock     func() time.Time
	UserAgent string // "" means DefaultUbUserAgent
	// MaxResync bounds the resynchronisations per bootstrap (0 means 1).
	MaxResync int
	Logger    *slog.Logger
}

// ubResponse is what the client keeps of one HTTP exchange.
type ubResponse struct {
	status int
	header http.Header
	body   []byte
}

// Bootstrap runs one bootstrapping procedure.
func (c *UbClient) Bootstrap(ctx context.Context) (*Bootstrap, error) {
	if c.USIM == nil {
		return nil, errors.New("Ub: no USIM")
	}
	u, err := url.Parse(c.BSFURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("Ub: BSF URL %q is not an http(s) URL", c.BSFURL)
	}
	uri := u.RequestURI()
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	impi := c.USIM.IMPI()
	realm0 := c.Realm
	if realm0 == "" {
		realm0 = u.Hostname()
	}
	aka := &DigestAKAClient{USIM: c.USIM, Realm: c.Realm, Rand: c.Rand}
	maxResync := c.MaxResync
	if maxResync <= 0 {
		maxResync = 1
	}

	// Step 1 (TS 24.109 A.3 table A.3-1): identify the user, no credentials yet.
	initial := &Credentials{Username: impi, Realm: realm0, URI: uri}
	resp, err := c.do(ctx, u, initial.String(), "initial request")
	if err != nil {
		return nil, err
	}
	step := "initial request"
	for resyncs, rechallenges := 0, 0; ; {
		ch, err := c.challenge(resp, step)
		if err != nil {
			return nil, err
		}
		if !ch.HasQOP(QOPAuthInt) {
			// TS 24.109 A.4 uses qop="auth-int"; without it rspauth would not cover the B-TID.
			return nil, fmt.Errorf("Ub: %w: challenge offers qop %q, not auth-int", ErrBSFProtocol, ch.QOP)
		}
		ans, err := aka.Answer(ctx, ch, http.MethodGet, uri, nil, 1)
		if err != nil {
			return nil, fmt.Errorf("Ub: %w", err)
		}
		switch ans.Outcome {
		case AKAMACFailure:
			// Tell the BSF (response over an empty password, no auts; see DigestAKAClient.Answer);
			// the outcome is a failure whatever it answers.
			r, err := c.do(ctx, u, ans.Credentials.String(), "network authentication failure report")
			if err != nil {
				return nil, fmt.Errorf("Ub: %w (and reporting it failed: %v)", ErrMACFailure, err)
			}
			log.Warn("Ub: AUTN did not verify; BSF not authentic", "impi", impi, "status", r.status)
			return nil, fmt.Errorf("Ub: %w; reported it (empty-password response, no auts), BSF answered %d", ErrMACFailure, r.status)
		case AKASyncFailure:
			resyncs++
			if resyncs > maxResync {
				return nil, fmt.Errorf("Ub: %w (%d resynchronisations)", ErrResyncLoop, resyncs-1)
			}
			log.Info("Ub: SQN not fresh, resynchronising", "impi", impi, "reason", ans.SyncFailure.Reason)
			if resp, err = c.do(ctx, u, ans.Credentials.String(), "resynchronisation"); err != nil {
				return nil, err
			}
			step = "resynchronisation"
			continue
		}
		// AKASuccess
		b, next, err := c.finish(ctx, u, ans, impi)
		ans.Zero()
		if next == nil {
			return b, err
		}
		// 401 again: a new challenge for a stale or forgotten nonce (RFC 2617 §3.2.1, stale=true),
		// answered once more; a second one means the BSF does not accept our RES.
		rechallenges++
		if rechallenges > 1 {
			return nil, fmt.Errorf("Ub authentication response: %w (401 again after a fresh challenge)", ErrBSFRejected)
		}
		log.Info("Ub: BSF challenged again after our response", "impi", impi)
		resp, step = next, "authentication response"
	}
}

// finish sends the AKA response. It returns the bootstrap from a 200 OK, or a 401 as next for the
// caller to answer.
func (c *UbClient) finish(ctx context.Context, u *url.URL, ans *DigestAKAAnswer, impi string) (b *Bootstrap, next *ubResponse, err error) {
	const step = "authentication response"
	resp, err := c.do(ctx, u, ans.Credentials.String(), step)
	switch {
	case err != nil:
		return nil, nil, err
	case resp.status == http.StatusUnauthorized:
		return nil, resp, nil
	case resp.status != http.StatusOK:
		return nil, nil, c.statusError(resp, step)
	}
	b, err = c.accept(resp, ans, impi)
	return b, nil, err
}

// accept checks the 200 OK: rspauth over the body, then the BootstrappingInfo.
func (c *UbClient) accept(resp *ubResponse, ans *DigestAKAAnswer, impi string) (*Bootstrap, error) {
	const step = "authentication response"
	// Authentication-Info: rspauth over the exact body octets (RFC 2617 §3.2.3, auth-int).
	aiv := resp.header.Get("Authentication-Info")
	if aiv == "" {
		return nil, fmt.Errorf("Ub %s: %w: 200 OK without Authentication-Info", step, ErrRspAuth)
	}
	ai, err := ParseAuthenticationInfo(aiv)
	if err != nil {
		return nil, fmt.Errorf("Ub %s: %w: %v", step, ErrBSFProtocol, err)
	}
	cred := ans.Credentials
	if (ai.QOP != "" && ai.QOP != cred.QOP) || (ai.CNonce != "" && ai.CNonce != cred.CNonce) || (ai.NC != "" && ai.NC != cred.NC) {
		return nil, fmt.Errorf("Ub %s: %w: Authentication-Info qop/cnonce/nc %q/%q/%q do not echo ours %q/%q/%q",
			step, ErrRspAuth, ai.QOP, ai.CNonce, ai.NC, cred.QOP, cred.CNonce, cred.NC)
	}
	want := RspAuth(cred, ans.Password, resp.body)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(ai.RspAuth)), []byte(want)) != 1 {
		return nil, fmt.Errorf("Ub %s: %w", step, ErrRspAuth)
	}
	if ct := resp.header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != BootstrappingInfoContentType && mt != "application/xml" && mt != "text/xml") {
			return nil, fmt.Errorf("Ub %s: %w: Content-Type %q, want %s", step, ErrBSFProtocol, ct, BootstrappingInfoContentType)
		}
	}
	bi, err := ParseBootstrappingInfo(resp.body)
	if err != nil {
		return nil, fmt.Errorf("Ub %s: %w: %v", step, ErrBSFProtocol, err)
	}
	now := time.Now
	if c.Clock != nil {
		now = c.Clock
	}
	if !bi.Lifetime.After(now()) {
		return nil, fmt.Errorf("Ub %s: %w: key lifetime %s is not in the future", step, ErrBSFProtocol, bi.Lifetime.Format(time.RFC3339))
	}
	randv, _, _, _ := SplitAKANonce(cred.Nonce) // parsed once already by Answer
	ks := make([]byte, 0, 2*KeyLen)
	ks = append(append(ks, ans.Result.CK...), ans.Result.IK...) // Ks = CK ‖ IK (TS 33.220 §4.5.2)
	b := &Bootstrap{BTID: bi.BTID, RAND: append([]byte(nil), randv...), Ks: ks, Lifetime: bi.Lifetime, IMPI: impi}
	runtime.AddCleanup(b, func(ks []byte) { clear(ks) }, ks)
	return b, nil
}

// challenge extracts the Digest AKA challenge of a 401.
func (c *UbClient) challenge(resp *ubResponse, step string) (*Challenge, error) {
	if resp.status != http.StatusUnauthorized {
		return nil, c.statusError(resp, step)
	}
	vals := resp.header.Values("WWW-Authenticate")
	if len(vals) == 0 {
		return nil, fmt.Errorf("Ub %s: %w: 401 without WWW-Authenticate", step, ErrBSFProtocol)
	}
	var firstErr error
	for _, v := range vals {
		ch, err := ParseChallenge(v)
		if err == nil {
			return ch, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("Ub %s: %w: %v", step, ErrBSFProtocol, firstErr)
}

func (c *UbClient) statusError(resp *ubResponse, step string) error {
	detail := strings.TrimSpace(string(resp.body))
	if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	var kind error
	switch {
	case resp.status == http.StatusForbidden:
		kind = ErrBSFForbidden
	case resp.status >= 500:
		kind = ErrBSFServer
	default:
		kind = ErrBSFProtocol
	}
	return fmt.Errorf("Ub %s: %w: BSF answered %d %s %q", step, kind, resp.status, http.StatusText(resp.status), detail)
}

// do sends one GET with the given Authorization and reads a bounded body.
func (c *UbClient) do(ctx context.Context, u *url.URL, authz, step string) (*ubResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("Ub %s: %w", step, err)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUbUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Authorization", authz)
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("Ub %s to %s: %s: %w", step, u.Redacted(), describeNetErr(ctx, err), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUbBody+1))
	if err != nil {
		return nil, fmt.Errorf("Ub %s to %s: reading body: %s: %w", step, u.Redacted(), describeNetErr(ctx, err), err)
	}
	if len(body) > maxUbBody {
		return nil, fmt.Errorf("Ub %s: %w: body larger than %d octets", step, ErrBSFProtocol, maxUbBody)
	}
	return &ubResponse{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// describeNetErr names the cause of a transport error for the message.
func describeNetErr(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "deadline of the caller's context exceeded"
	case errors.Is(ctx.Err(), context.Canceled):
		return "cancelled by the caller"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out (HTTP client timeout)"
	}
	return "transport error"
}
