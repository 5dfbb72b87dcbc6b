package kms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// KeyProvider gives the UE's B-TID and Ks_NAF for NAF_Id = nafFQDN ‖ 01 00 00 00 06 (gba.NAFKeys.Key
// has this shape; keymgmt does not import gba).
type KeyProvider func(ctx context.Context, nafFQDN string) (btid string, key []byte, err error)

// ClientConfig configures the UE's KMS client.
type ClientConfig struct {
	// URLs are the KMS addresses (e.g. "https://kms.home1.net/kms/mikey"), tried in order: a
	// transport failure, 5xx or 429 moves to the next one.
	URLs []string
	// FQDN is the KMS's NAF name for the key provider and IDRkms. Required.
	FQDN string
	Keys KeyProvider // required
	// Invalidate, if set, is told the B-TID the KMS did not know (HTTP 401), before the one retry
	// with a fresh bootstrap (gba.NAFKeys.Invalidate).
	Invalidate func(btid string)
	HTTPClient *http.Client // default: 10 s timeout
	Now        func() time.Time
	Rand       io.Reader // CSB IDs and RANDs [crypto/rand]
	PRF        mikey.PRFFunc
	MACAlg     mikey.MACAlg // [HMAC-SHA-256-256]
	// Skew is the window the KMS's response T must lie in [mikey.DefaultSkew].
	Skew time.Duration
	// MaxResponseBytes bounds a KMS answer [64 KiB].
	MaxResponseBytes int64
}

// Client is the UE's KMS client (TS 33.328 KMS-based e2e, RFC 6043 §4.2.1 and §4.2.3): it requests
// tickets as caller and resolves them as callee, over HTTP POST of application/mikey messages.
type Client struct {
	cfg ClientConfig
	hc  *http.Client
	rnd io.Reader
}

// NewClient checks cfg and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if len(cfg.URLs) == 0 || cfg.FQDN == "" || cfg.Keys == nil {
		return nil, errors.New("kms client: URLs, FQDN and Keys are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MACAlg == mikey.MACNULL {
		cfg.MACAlg = mikey.MACHMACSHA256256
	}
	if cfg.Skew == 0 {
		cfg.Skew = mikey.DefaultSkew
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = 64 << 10
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc, rnd: randReader(cfg.Rand)}, nil
}

// Error is a KMS refusal: the HTTP status and, when the body was a MIKEY Error message, its ERR
// numbers and whether its MAC verified.
type Error struct {
	URL           string
	Status        int
	ErrNos        []mikey.ErrNo
	Authenticated bool
	Detail        string
}

func (e *Error) Error() string {
	return fmt.Sprintf("kms %s: HTTP %d, MIKEY ERR %v (authenticated %v)%s", e.URL, e.Status, e.ErrNos, e.Authenticated, e.Detail)
}

// Has reports whether the KMS answered with ERR n.
func (e *Error) Has(n mikey.ErrNo) bool {
	for _, x := range e.ErrNos {
		if x == n {
			return true
		}
	}
	return false
}

// ErrBootstrap is matched by the error of a request the KMS refused twice with "unknown B-TID",
// i.e. even after a fresh bootstrap.
var ErrBootstrap = errors.New("kms client: the KMS does not know the B-TID even after a new bootstrap")

// TicketRequest is what a caller asks the KMS for.
type TicketRequest struct {
	Initiator  *mikey.IDR   // IDRi: the caller's IMPU (role I)
	Responders []*mikey.IDR // IDRr: at least one (role R)
	Flags      mikey.TicketFlags
	Validity   time.Duration // 0: the KMS's choice
	// Keys, if set, are the desired session keys (types and lengths; the KMS fills in the keys).
	Keys []mikey.KeyData
}

// Ticket is a granted ticket with its keys.
type Ticket struct {
	Resp *mikey.RequestResp
	// Request is the REQUEST_INIT_PSK sent (its Raw is what REQUEST_RESP's MAC covered).
	Request *mikey.Message
}

// RequestTicket runs the Ticket Request exchange (RFC 6043 §4.2.1). Whether the granted policy is
// acceptable (§4.2.1.6) is the caller's decision: see Resp.Ticket.Policy and its K flag.
func (c *Client) RequestTicket(ctx context.Context, r TicketRequest) (*Ticket, error) {
	var req *mikey.Message
	resp, err := c.exchange(ctx, func(btid string, key []byte) (*mikey.Message, mikey.MessageKeys, error) {
		now := c.cfg.Now()
		t, err := mikey.NewTNTPUTC(now)
		if err != nil {
			return nil, mikey.MessageKeys{}, err
		}
		data := []mikey.Payload{r.Initiator}
		if r.Validity > 0 {
			tre, err := mikey.TimeToNTP64(now.Add(r.Validity))
			if err != nil {
				return nil, mikey.MessageKeys{}, err
			}
			data = append(data, &mikey.TR{Role: mikey.TSRoleE, TSType: mikey.TSNTPUTC, Value: tre})
		}
		if len(r.Keys) > 0 {
			kd, err := mikey.MarshalKeyDataList(r.Keys)
			if err != nil {
				return nil, mikey.MessageKeys{}, err
			}
			data = append(data, &mikey.KEMAC{EncrAlg: mikey.EncrNULL, EncrData: kd, MACAlg: mikey.MACNULL})
		}
		for _, x := range r.Responders {
			data = append(data, x)
		}
		prf := c.cfg.PRF
		m, keys, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: prf, T: t, IDRi: r.Initiator,
			IDRkms: c.idrKMS(), IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Type: mikey.IDTypeNAI, Data: []byte(btid)},
			TP: &mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: mikey.BaseTicketSubtype, TicketVersion: 1,
				PRF: prf, Flags: r.Flags &^ mikey.FlagK, Data: data},
			MACAlg: c.cfg.MACAlg, Rand: c.rnd}, key)
		req = m
		return m, keys, err
	}, func(m, sent *mikey.Message, key []byte) (any, error) {
		return mikey.VerifyRequestResp(m, sent, key, c.fresh())
	})
	if err != nil {
		return nil, err
	}
	return &Ticket{Resp: resp.(*mikey.RequestResp), Request: req}, nil
}

// Resolution is a resolved ticket.
type Resolution struct {
	Resp    *mikey.ResolveResp
	Request *mikey.Message // the RESOLVE_INIT_PSK sent
}

// ResolveTicket runs the Ticket Resolve exchange (RFC 6043 §4.2.3) as Responder responder (IDRr,
// role R) for a ticket received in TRANSFER_INIT (Initiator Data included).
func (c *Client) ResolveTicket(ctx context.Context, responder *mikey.IDR, ticket *mikey.TICKET) (*Resolution, error) {
	var req *mikey.Message
	resp, err := c.exchange(ctx, func(btid string, key []byte) (*mikey.Message, mikey.MessageKeys, error) {
		t, err := mikey.NewTNTPUTC(c.cfg.Now())
		if err != nil {
			return nil, mikey.MessageKeys{}, err
		}
		m, keys, err := mikey.BuildResolveInitPSK(mikey.ResolveInitParams{PRF: c.cfg.PRF, T: t, IDRr: responder,
			IDRkms: c.idrKMS(), IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Type: mikey.IDTypeNAI, Data: []byte(btid)},
			Ticket: ticket, MACAlg: c.cfg.MACAlg, Rand: c.rnd}, key)
		req = m
		return m, keys, err
	}, func(m, sent *mikey.Message, key []byte) (any, error) {
		return mikey.VerifyResolveResp(m, sent, key, c.fresh())
	})
	if err != nil {
		return nil, err
	}
	return &Resolution{Resp: resp.(*mikey.ResolveResp), Request: req}, nil
}

func (c *Client) idrKMS() *mikey.IDR {
	return &mikey.IDR{Role: mikey.IDRoleKMS, Type: mikey.IDTypeURI, Data: []byte(c.cfg.FQDN)}
}

// fresh checks the KMS's T against the local clock (RFC 6043 §4.2.1.6: responses carry a fresh
// timestamp). A response is bound to our request by its MAC, so no replay cache is needed.
func (c *Client) fresh() mikey.Freshness {
	w := mikey.Window{Skew: c.cfg.Skew}
	return func(t *mikey.T, _ []byte, _ ...[]byte) error {
		_, err := w.Check(t, c.cfg.Now())
		return err
	}
}

// exchange gets the key, builds a message and sends it, failing over between the KMS addresses;
// on 401 (unknown B-TID) it invalidates the B-TID and tries once more with a fresh key.
func (c *Client) exchange(ctx context.Context, build func(btid string, key []byte) (*mikey.Message, mikey.MessageKeys, error),
	verify func(m, sent *mikey.Message, key []byte) (any, error)) (any, error) {
	for attempt := 0; ; attempt++ {
		btid, key, err := c.cfg.Keys(ctx, c.cfg.FQDN)
		if err != nil {
			return nil, fmt.Errorf("kms client: NAF key: %w", err)
		}
		res, err := c.failover(ctx, build, verify, btid, key)
		var ke *Error
		if errors.As(err, &ke) && ke.Status == http.StatusUnauthorized {
			if attempt > 0 {
				return nil, fmt.Errorf("%w: %w", ErrBootstrap, err)
			}
			if c.cfg.Invalidate != nil {
				c.cfg.Invalidate(btid)
			}
			continue
		}
		return res, err
	}
}

func (c *Client) failover(ctx context.Context, build func(btid string, key []byte) (*mikey.Message, mikey.MessageKeys, error),
	verify func(m, sent *mikey.Message, key []byte) (any, error), btid string, key []byte) (any, error) {
	var errs []error
	for _, u := range c.cfg.URLs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A new message per address: a KMS that got the first one may share the replay cache.
		sent, keys, err := build(btid, key)
		if err != nil {
			return nil, fmt.Errorf("kms client: build: %w", err)
		}
		status, body, err := c.post(ctx, u, sent.Raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status == http.StatusOK {
			m, err := mikey.ParseMessage(body)
			if err != nil {
				return nil, fmt.Errorf("kms client: %s: parse answer: %w", u, err)
			}
			if m.HDR.DataType == mikey.DataTypeError {
				return nil, c.mikeyError(u, status, m, sent, keys)
			}
			return verify(m, sent, key)
		}
		var kerr error = &Error{URL: u, Status: status}
		if m, err := mikey.ParseMessage(body); err == nil && m.HDR.DataType == mikey.DataTypeError {
			kerr = c.mikeyError(u, status, m, sent, keys)
		}
		if status >= 500 || status == http.StatusTooManyRequests {
			errs = append(errs, kerr)
			continue
		}
		return nil, kerr
	}
	return nil, fmt.Errorf("kms client: no KMS answered: %w", errors.Join(errs...))
}

func (c *Client) mikeyError(u string, status int, m, sent *mikey.Message, keys mikey.MessageKeys) *Error {
	e := &Error{URL: u, Status: status}
	var authKey []byte
	if m.V() != nil {
		authKey = keys.Auth
	}
	em, err := mikey.VerifyError(m, sent, authKey)
	if err != nil {
		e.Detail = ": " + err.Error()
		return e
	}
	e.ErrNos, e.Authenticated = em.ErrNos, em.Authenticated
	return e
}

func (c *Client) post(ctx context.Context, u string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("kms client: %s: %w", u, err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Accept", ContentType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("kms client: %s: %w", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("kms client: %s: read answer: %w", u, err)
	}
	if int64(len(b)) > c.cfg.MaxResponseBytes {
		return 0, nil, fmt.Errorf("kms client: %s: answer over %d bytes", u, c.cfg.MaxResponseBytes)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && !strings.HasPrefix(ct, ContentType) {
		return 0, nil, fmt.Errorf("kms client: %s: answer of type %q", u, ct)
	}
	return resp.StatusCode, b, nil
}
