package zn

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// maxResponseBytes bounds what a Zn answer may occupy in memory: a BootstrappingInfoResponse is
// a few hundred octets.
const maxResponseBytes = 64 << 10

// ClientConfig configures an HTTPResolver.
type ClientConfig struct {
	// BaseURL is the Nbsp_GBA apiRoot, e.g. "https://bsf.home1.net:8443".
	BaseURL string
	// BearerToken, if set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// TLS is used for https BaseURLs: RootCAs for the BSF and, for mutual TLS, Certificates.
	TLS *tls.Config
	// Timeout bounds one Zn exchange (default 5 s).
	Timeout time.Duration
	// Transport replaces the default transport (tests); TLS is then ignored.
	Transport http.RoundTripper
}

// HTTPResolver is a Resolver over the Nbsp_GBA-style HTTP/JSON Zn.
type HTTPResolver struct {
	endpoint string
	token    string
	client   *http.Client
}

// NewHTTPResolver checks the configuration and builds the client.
func NewHTTPResolver(cfg ClientConfig) (*HTTPResolver, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("zn: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("zn: base URL %q: want http(s)://host[:port][/prefix]", cfg.BaseURL)
	}
	if strings.ContainsAny(cfg.BearerToken, "\r\n") {
		return nil, errors.New("zn: bearer token contains a line break")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.TLS != nil {
			t.TLSClientConfig = cfg.TLS.Clone()
		}
		t.MaxIdleConnsPerHost = 16
		rt = t
	}
	return &HTTPResolver{
		endpoint: strings.TrimRight(u.String(), "/") + RetrievalPath,
		token:    cfg.BearerToken,
		client: &http.Client{
			Transport: rt,
			Timeout:   timeout,
			// A Zn answer is never a redirect this client should follow with its token.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// Resolve asks the BSF for Ks_NAF. A 404 answer yields an error matching ErrUnknownBTID.
func (r *HTTPResolver) Resolve(ctx context.Context, btid string, nafID gba.NAFID) (*NAFKey, error) {
	if btid == "" {
		return nil, errors.New("zn: empty B-TID")
	}
	body, err := json.Marshal(BootstrappingInfoRequest{BtID: btid, NafID: NafIDFrom(nafID)})
	if err != nil {
		return nil, fmt.Errorf("zn: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("zn: %w", err)
	}
	req.Header.Set("Content-Type", ContentTypeJSON)
	req.Header.Set("Accept", ContentTypeJSON+", "+ContentTypeProblem)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zn: POST %s: %w", r.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("zn: read answer: %w", err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("zn: answer longer than %d octets", maxResponseBytes)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK {
		pe := &ProblemError{Status: resp.StatusCode}
		if mt == ContentTypeProblem || mt == ContentTypeJSON {
			if p, err := ParseProblemDetails(data); err == nil {
				pe.Problem = *p
			}
		}
		return nil, pe
	}
	if mt != ContentTypeJSON {
		return nil, fmt.Errorf("zn: answer Content-Type %q, want %s", mt, ContentTypeJSON)
	}
	key, err := ParseBootstrappingInfoResponse(data)
	if err != nil {
		return nil, fmt.Errorf("zn: %w", err)
	}
	return key, nil
}

// CloseIdleConnections closes the kept-alive connections to the BSF (at shutdown).
func (r *HTTPResolver) CloseIdleConnections() { r.client.CloseIdleConnections() }
