package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/internal/lab"
)

// defaultLabYAML is the lab imsphone lab starts without -c: configs/lab.yaml (a test keeps the
// two the same). TS 35.208 test set 1 keys: test-only.
const defaultLabYAML = `domain: home1.net
host: 127.0.0.1
sip_port: 5060
registrar:
  min_expires: 60s
  max_expires: 2h
  default_expires: 1h
  nonce_lifetime: 60s
  digest_algorithms: [SHA-256, MD5]
  aka_algorithm: AKAv1-MD5
  sender_policy: registered
subscribers:
  - impi: alice@home1.net
    impus: ["sip:alice@home1.net"]
    k: 465b5ce8b199b49faa5f0a2ee238a6bc
    opc: cd63cb71954a9f4e48a5994e37a02baf
    amf: "8000"
  - impi: bob@home1.net
    impus: ["sip:bob@home1.net"]
    k: 465b5ce8b199b49faa5f0a2ee238a6bc
    opc: cd63cb71954a9f4e48a5994e37a02baf
    amf: "8000"
  - impi: carol@home1.net
    impus: ["sip:carol@home1.net"]
    password: carol-secret
bsf:
  realm: bsf.home1.net
  domain: bsf.home1.net
  key_lifetime: 1h
  zn_bearer_token: lab-zn-token-0123456789
kms:
  fqdn: kms.home1.net
  skew: 5m
  max_validity: 1h
`

// Default front doors of imsphone lab for Ub and the KMS: the lab's own servers take free
// ports, and these fixed ones let configs/alice.yaml and configs/bob.yaml name them.
const (
	defaultLabUbListen  = "127.0.0.1:8401"
	defaultLabKMSListen = "127.0.0.1:8402"
)

func newLabCommand(a *app) *cobra.Command {
	var file, writeDir string
	var sipPort int
	var ubListen, kmsListen string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run the in-process IMS lab (registrar/proxy, BSF, KMS) until interrupted",
		Long: `lab runs the imsphone lab as a long-running process for testers: a registrar/proxy with Digest and
IMS AKA (the P-CSCF/S-CSCF stand-in), a test BSF (GBA Ub and Zn, TS 33.220) and a KMS
(TS 33.328, MIKEY-TICKET), all on loopback. It prints their addresses and an account config
for every subscriber (IMS AKA subscribers get security mode kms with the BSF and KMS addresses
filled in; Digest ones sdes); --write-configs DIR writes them as DIR/<user>.yaml instead, for
imsphone register/call/answer -c. "ready" on a line of its own says the lab is up.

Without -c it runs the lab of configs/lab.yaml (home1.net; alice and bob with IMS AKA, carol
with Digest; SIP on 127.0.0.1:5060). The BSF and the KMS take free ports; the lab forwards the
fixed addresses --ub-listen (127.0.0.1:8401) and --kms-listen (127.0.0.1:8402) to them, which
configs/alice.yaml and configs/bob.yaml name. It stops cleanly on SIGINT or SIGTERM.

Test keys only, plain HTTP, no TLS: a lab for loopback testing, not a network element.`,
		Example: `  imsphone lab --write-configs /tmp/lab
  imsphone answer -c /tmp/lab/bob.yaml --auto --record in.wav        # second terminal
  imsphone call -c /tmp/lab/alice.yaml --play tone:440 --duration 5s sip:bob@home1.net

  imsphone lab                                      # then, in two more terminals:
  imsphone answer -c configs/bob.yaml --auto
  imsphone call -c configs/alice.yaml --play tone:440 --duration 5s sip:bob@home1.net

  imsphone lab -c configs/lab.yaml --sip-port 0 --ub-listen "" --kms-listen ""   # free ports only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *lab.Config
			var err error
			if file != "" {
				cfg, err = lab.LoadConfig(file)
			} else {
				cfg, err = lab.ParseConfig([]byte(defaultLabYAML))
			}
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if cmd.Flags().Changed("sip-port") {
				cfg.SIPPort = sipPort
			}
			return a.runLab(cmd.Context(), cfg, writeDir, ubListen, kmsListen)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "lab config (YAML, see configs/lab.yaml; default: the built-in copy of it)")
	cmd.Flags().StringVar(&writeDir, "write-configs", "", "write an account config per subscriber into this directory (created if needed)")
	cmd.Flags().IntVar(&sipPort, "sip-port", 0, "SIP port of the registrar/proxy (overrides sip_port; 0: a free port)")
	cmd.Flags().StringVar(&ubListen, "ub-listen", defaultLabUbListen, "fixed address forwarding to the BSF's Ub (\"\": use the BSF's own free port)")
	cmd.Flags().StringVar(&kmsListen, "kms-listen", defaultLabKMSListen, "fixed address forwarding to the KMS (\"\": use the KMS's own free port)")
	return cmd
}

// labView is a running lab as the UEs see it: its URLs, or the front doors forwarding to them.
type labView struct {
	*lab.Lab
	ubURL, kmsURL string
}

func (a *app) runLab(ctx context.Context, cfg *lab.Config, writeDir, ubListen, kmsListen string) error {
	out := a.env.Stdout
	l, err := lab.Start(ctx, *cfg, lab.Options{Logger: a.log})
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer l.Close()
	v := labView{Lab: l, ubURL: l.UbURL, kmsURL: l.KMSURL}
	if l.UbURL != "" && ubListen != "" {
		fd, err := startFrontDoor(ubListen, l.UbURL, a.log)
		if err != nil {
			return fmt.Errorf("--ub-listen: %w", err)
		}
		defer fd.close()
		v.ubURL = fd.url
	}
	if l.KMSURL != "" && kmsListen != "" {
		fd, err := startFrontDoor(kmsListen, l.KMSURL, a.log)
		if err != nil {
			return fmt.Errorf("--kms-listen: %w", err)
		}
		defer fd.close()
		v.kmsURL = fd.url
	}
	fmt.Fprintf(out, "imsphone lab: home domain %s\n", l.Domain)
	fmt.Fprintf(out, "  registrar/proxy: %s (UDP and TCP); REGISTER Request-URI %s\n", l.SIPAddr, l.RegistrarURI)
	if l.UbURL != "" {
		fmt.Fprintf(out, "  BSF Ub:          %s (realm %s)%s\n", v.ubURL, l.BSFRealm, via(v.ubURL, l.UbURL))
		fmt.Fprintf(out, "  BSF Zn:          %s\n", l.ZnURL)
	}
	if l.KMSURL != "" {
		fmt.Fprintf(out, "  KMS:             %s (%s)%s\n", v.kmsURL, l.KMSFQDN, via(v.kmsURL, l.KMSURL))
	}
	fmt.Fprintln(out, "subscribers:")
	accts := l.Accounts()
	for _, acc := range accts {
		kind := "Digest"
		if acc.AKA {
			kind = "IMS AKA"
		}
		fmt.Fprintf(out, "  %-24s %-8s %s\n", acc.IMPI, kind, strings.Join(acc.IMPUs, ", "))
	}
	if writeDir != "" {
		if err := os.MkdirAll(writeDir, 0o700); err != nil {
			return fmt.Errorf("--write-configs: %w", err)
		}
		fmt.Fprintf(out, "account configs (test keys) written to %s:\n", writeDir)
		for _, acc := range accts {
			p := filepath.Join(writeDir, labUser(acc)+".yaml")
			if err := os.WriteFile(p, []byte(labAccountYAML(v, acc)), 0o600); err != nil {
				return fmt.Errorf("--write-configs: %w", err)
			}
			fmt.Fprintf(out, "  %s\n", p)
		}
	} else {
		fmt.Fprintln(out, "account configs (test keys; --write-configs DIR writes them to files):")
		for _, acc := range accts {
			fmt.Fprintf(out, "--- # %s.yaml\n%s", labUser(acc), labAccountYAML(v, acc))
		}
		fmt.Fprintln(out, "---")
	}
	for _, acc := range accts {
		clear(acc.K)
		clear(acc.OPc)
	}
	fmt.Fprintln(out, "ready (Ctrl-C stops the lab)")
	<-ctx.Done()
	fmt.Fprintln(out, "stopping")
	if err := l.Close(); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

// labUser is the file name of a subscriber's config: the user part of its IMPI.
func labUser(acc lab.Account) string {
	u, _, _ := strings.Cut(acc.IMPI, "@")
	return strings.NewReplacer("/", "_", "\\", "_", ".", "_").Replace(u)
}

// labAccountYAML is an account config (configs/alice.yaml format) for one lab subscriber.
func labAccountYAML(l labView, acc lab.Account) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	impu := ""
	if len(acc.IMPUs) > 0 {
		impu = acc.IMPUs[0]
	}
	w("# account %s of the imsphone lab (%s); test keys only\n", acc.IMPI, l.Domain)
	w("identity:\n  impu: %s\n  impi: %s\n", yamlQuote(impu), yamlQuote(acc.IMPI))
	w("credentials:\n")
	mode := "sdes"
	if acc.AKA {
		w("  aka:\n    k: %s\n    opc: %s\n    amf: %q\n", hex.EncodeToString(acc.K), hex.EncodeToString(acc.OPc), hex.EncodeToString(acc.AMF[:]))
		if l.kmsURL != "" && l.ubURL != "" {
			mode = "kms"
		}
	} else {
		w("  password: %s\n", yamlQuote(acc.Password))
	}
	w("registrar: %s\noutbound_proxy: %s\ntransport: udp\nlisten: %s\nmedia_ip: %s\n",
		yamlQuote(l.RegistrarURI), yamlQuote(l.SIPAddr), yamlQuote(net.JoinHostPort(labHost(l.SIPAddr), "0")), yamlQuote(labHost(l.SIPAddr)))
	w("security:\n  mode: %s\n  requirement: mandatory\n", mode)
	if mode == "sdes" {
		// The lab's SIP is UDP on loopback; SDES there needs the explicit permission.
		w("  allow_sdes_without_tls: true   # loopback lab: SDES keys over UDP (RFC 4568 §8.3)\n")
	}
	if l.kmsURL != "" {
		w("kms:\n  urls: [%s]\n  fqdn: %s\n  skew: %v\n", yamlQuote(l.kmsURL), yamlQuote(l.KMSFQDN), l.KMSSkew)
	}
	if l.ubURL != "" {
		w("bsf:\n  url: %s\n  realm: %s\n", yamlQuote(l.ubURL), yamlQuote(l.BSFRealm))
	}
	return b.String()
}

func labHost(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// yamlQuote writes s as a double-quoted YAML scalar.
func yamlQuote(s string) string {
	return fmt.Sprintf("%q", s)
}

func via(front, inner string) string {
	if front == inner {
		return ""
	}
	return " → " + inner
}

// frontDoor is a fixed HTTP address forwarding to one of the lab's servers.
type frontDoor struct {
	url string
	srv *http.Server
}

// startFrontDoor listens on addr and forwards every request to target's host, keeping the
// path, so target's path (Ub "/", the KMS's /kms/mikey) is the front door's too.
func startFrontDoor(addr, target string, log *slog.Logger) (*frontDoor, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host})
			r.Out.Host = r.In.Host
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	front := *u
	front.Host = ln.Addr().String()
	return &frontDoor{url: front.String(), srv: srv}, nil
}

func (f *frontDoor) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.srv.Shutdown(ctx)
}
