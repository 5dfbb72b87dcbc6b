package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// accountFlags are the flags register, call and answer share: a config file and the fields a
// flag may override.
type accountFlags struct {
	config                        string
	registrar, proxy, listen      string
	mediaIP, impu, impi, user     string
	security, requirement, codecs string
	kmsURL, bsfURL, transport     string
	expires, sessionExpires       time.Duration
	allowSDESWithoutTLS           bool
}

func (f *accountFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "account config file (YAML, see configs/alice.yaml)")
	fl.StringVar(&f.registrar, "registrar", "", "registrar URI, e.g. sip:home1.net (overrides registrar)")
	fl.StringVar(&f.proxy, "proxy", "", "outbound proxy host:port, the P-CSCF (overrides outbound_proxy)")
	fl.StringVar(&f.listen, "listen", "", "SIP address host:port (overrides listen; default 127.0.0.1:0)")
	fl.StringVar(&f.mediaIP, "media-ip", "", "RTP address (overrides media_ip)")
	fl.StringVar(&f.impu, "impu", "", "public identity / AOR, e.g. sip:alice@home1.net (overrides identity.impu)")
	fl.StringVar(&f.impi, "impi", "", "private identity, e.g. alice@home1.net (overrides identity.impi)")
	fl.StringVar(&f.user, "user", "", "contact user part (overrides identity.user)")
	fl.StringVar(&f.security, "security", "", "media security: kms, sdes or none (overrides security.mode; default sdes)")
	fl.StringVar(&f.requirement, "require", "", "mandatory or preferred (overrides security.requirement; default mandatory)")
	fl.BoolVar(&f.allowSDESWithoutTLS, "allow-sdes-without-tls", false, "let SDES keys cross udp/tcp signalling in the clear (RFC 4568 §8.3; overrides security.allow_sdes_without_tls)")
	fl.StringVar(&f.transport, "transport", "", "SIP transport of our requests: udp or tcp (overrides transport; default udp)")
	fl.StringVar(&f.kmsURL, "kms-url", "", "KMS URL (overrides kms.urls)")
	fl.StringVar(&f.bsfURL, "bsf-url", "", "BSF Ub URL (overrides bsf.url)")
	fl.StringVar(&f.codecs, "codecs", "", "comma-separated codecs in preference order: PCMU,PCMA,telephone-event")
	fl.DurationVar(&f.sessionExpires, "session-expires", 0, "ask for SIP session timers on calls, e.g. 1800s (RFC 4028; overrides session_expires)")
	fl.DurationVar(&f.expires, "expires", 0, "registration lifetime to ask for (overrides expires; default 600s)")
}

// load reads the config file (if any), applies the flags that were set and checks the result.
func (f *accountFlags) load(cmd *cobra.Command, needRegistrar bool) (*Account, error) {
	acc := &Account{}
	source := "flags"
	if f.config != "" {
		var err error
		if acc, err = LoadAccount(f.config); err != nil {
			return nil, &exitError{code: ExitUsage, err: err}
		}
		source = f.config
	}
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) {
			*dst = v
		}
	}
	set("registrar", &acc.Registrar, f.registrar)
	set("proxy", &acc.OutboundProxy, f.proxy)
	set("listen", &acc.Listen, f.listen)
	set("media-ip", &acc.MediaIP, f.mediaIP)
	set("impu", &acc.Identity.IMPU, f.impu)
	set("impi", &acc.Identity.IMPI, f.impi)
	set("user", &acc.Identity.User, f.user)
	set("security", &acc.Security.Mode, f.security)
	set("require", &acc.Security.Requirement, f.requirement)
	set("bsf-url", &acc.BSF.URL, f.bsfURL)
	set("transport", &acc.Transport, f.transport)
	if cmd.Flags().Changed("kms-url") {
		acc.KMS.URLs = []string{f.kmsURL}
	}
	if cmd.Flags().Changed("codecs") {
		acc.Codecs = nil
		for _, c := range strings.Split(f.codecs, ",") {
			if c = strings.TrimSpace(c); c != "" {
				acc.Codecs = append(acc.Codecs, c)
			}
		}
	}
	if cmd.Flags().Changed("expires") {
		acc.Expires = f.expires
	}
	if cmd.Flags().Changed("session-expires") {
		acc.SessionExpires = f.sessionExpires
	}
	if cmd.Flags().Changed("allow-sdes-without-tls") {
		acc.Security.AllowSDESWithoutTLS = f.allowSDESWithoutTLS
	}
	if err := acc.Finish(source, needRegistrar); err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return acc, nil
}

// ue is a running account: the Phone and, with AKA, the USIM and the GBA/KMS wiring.
type ue struct {
	// cleanup removes the temporary SEQ_MS file of a seeded in-memory USIM.
	cleanup func()
	acc     *Account
	phone   *client.Phone
	usim    *gba.SoftUSIM
	naf     *gba.NAFKeys
	reg     *client.Registration
}

// ueOptions are the per-command parts of the Phone's configuration.
type ueOptions struct {
	autoAnswer *client.CallOptions
	queue      int
	keyLog     io.Writer // --keylog (nil: off)
}

// startUE builds the account's USIM, GBA and KMS clients and starts its Phone.
func (a *app) startUE(acc *Account, o ueOptions) (*ue, error) {
	u := &ue{acc: acc}
	ok := false
	defer func() {
		if !ok {
			u.close()
		}
	}()
	if k := acc.Credentials.AKA; k != nil {
		cfg := gba.SoftUSIMConfig{IMPI: acc.Identity.IMPI, K: hexValue(k.K), SQNFile: k.SQNFile}
		if k.OP.IsSet() {
			cfg.OP = hexValue(k.OP)
		} else {
			cfg.OPc = hexValue(k.OPc)
		}
		if k.AMF != "" {
			cfg.AMF = hexValue(Secret{value: []byte(k.AMF), set: true})
		}
		if k.SQN != "" {
			path, cleanup, err := seedSQN(k)
			if err != nil {
				return nil, err
			}
			u.cleanup = cleanup
			cfg.SQNFile = path
		}
		usim, err := gba.NewSoftUSIM(cfg)
		clear(cfg.K)
		clear(cfg.OP)
		clear(cfg.OPc)
		if err != nil {
			return nil, fmt.Errorf("software USIM: %w", err)
		}
		u.usim = usim
	}
	policy, err := acc.policy()
	if err != nil {
		return nil, err
	}
	cfg := client.Config{
		ListenAddr: acc.Listen, Transport: strings.ToLower(acc.Transport), User: acc.Identity.User, AOR: acc.Identity.IMPU, Security: policy,
		Formats: acc.formats(), OutboundProxy: acc.OutboundProxy, AutoAnswer: o.autoAnswer,
		IncomingQueue: o.queue, Rand: a.env.Rand, Logger: a.log, UserAgent: "imsphone/" + shortVersion(a.env.Version),
		SessionExpires: acc.SessionExpires,
	}
	if o.keyLog != nil {
		cfg.KeyLog = o.keyLog
	}
	if acc.MediaIP != "" {
		cfg.MediaIP, _ = netip.ParseAddr(acc.MediaIP)
	}
	if acc.Credentials.Password.IsSet() {
		cfg.Username, cfg.Password = acc.username(), string(acc.Credentials.Password.Value())
	}
	if policy.Mode == keymgmt.ModeKMS {
		m, err := u.kmsMethod(a)
		if err != nil {
			return nil, err
		}
		cfg.KMS = m
	}
	if u.phone, err = client.NewPhone(cfg); err != nil {
		return nil, err
	}
	ok = true
	return u, nil
}

// kmsMethod wires GBA (Ub with the USIM, NAF keys) to the KMS client and the MIKEY-TICKET method.
func (u *ue) kmsMethod(a *app) (keymgmt.Method, error) {
	acc := u.acc
	hc := &http.Client{Timeout: 10 * time.Second}
	ub := &gba.UbClient{BSFURL: acc.BSF.URL, USIM: u.usim, Realm: acc.BSF.Realm, HTTPClient: hc, Rand: a.env.Rand,
		Clock: a.env.Now, Logger: a.log}
	var err error
	if u.naf, err = gba.NewNAFKeys(gba.NAFKeysConfig{Bootstrapper: ub, Clock: a.env.Now, Logger: a.log}); err != nil {
		return nil, fmt.Errorf("GBA: %w", err)
	}
	skew := acc.KMS.Skew
	if skew == 0 {
		skew = mikey.DefaultSkew
	}
	kc, err := kms.NewClient(kms.ClientConfig{URLs: acc.KMS.URLs, FQDN: acc.KMS.FQDN, Keys: u.naf.Key,
		Invalidate: u.naf.Invalidate, HTTPClient: hc, Now: a.env.Now, Rand: a.env.Rand, PRF: mikey.PRFHMACSHA256, Skew: skew})
	if err != nil {
		return nil, fmt.Errorf("KMS client: %w", err)
	}
	m, err := keymgmt.NewMIKEY(keymgmt.MIKEYConfig{KMS: kc, IMPU: acc.Identity.IMPU, Now: a.env.Now, Rand: a.env.Rand,
		Window: mikey.Window{Skew: skew}})
	if err != nil {
		return nil, fmt.Errorf("MIKEY: %w", err)
	}
	return m, nil
}

func (acc *Account) username() string {
	if acc.Credentials.Username != "" {
		return acc.Credentials.Username
	}
	return acc.Identity.IMPI
}

// register binds the account at its registrar (no-op without one).
func (u *ue) register(ctx context.Context) error {
	acc := u.acc
	if acc.Registrar == "" {
		return nil
	}
	o := client.RegisterOptions{Registrar: acc.Registrar, AOR: acc.Identity.IMPU, Username: acc.username(), Expires: acc.Expires}
	if acc.Credentials.Password.IsSet() {
		o.Password = string(acc.Credentials.Password.Value())
	}
	if u.usim != nil {
		o.USIM = u.usim
	}
	r, err := u.phone.Register(ctx, o)
	if err != nil {
		return err
	}
	u.reg = r
	return nil
}

// close hangs up, de-registers and zeroes the keys.
func (u *ue) close() {
	if u.phone != nil {
		u.phone.Close()
	}
	if u.naf != nil {
		u.naf.Close()
	}
	if u.usim != nil {
		u.usim.Close()
	}
	for _, f := range u.acc.secrets() {
		clear(f.s.value)
	}
	if u.cleanup != nil {
		u.cleanup()
	}
}

// seedSQN gives the software USIM the starting SQN_MS of credentials.aka.sqn: written into an
// absent sqn_file, or, without one, into a temporary file the USIM uses for this run only. The
// array has the USIM's default IND length (TS 33.102 C.1.2).
func seedSQN(k *AKAKey) (path string, cleanup func(), err error) {
	sqn, err := parseAccountSQN(k.SQN)
	if err != nil {
		return "", nil, fmt.Errorf("credentials.aka.sqn: %w", err)
	}
	cleanup = func() {}
	path = k.SQNFile
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return path, cleanup, nil // the saved state wins over the seed
		}
	} else {
		dir, err := os.MkdirTemp("", "imsphone-usim-")
		if err != nil {
			return "", nil, fmt.Errorf("USIM SQN state: %w", err)
		}
		path = filepath.Join(dir, "sqn.json")
		cleanup = func() { os.RemoveAll(dir) }
	}
	arr, err := gba.NewSQNArray(gba.SQNPolicy{INDBits: gba.DefaultINDBits})
	if err == nil {
		// Every IND slot starts at SQN's SEQ: otherwise a challenge in another slot would still
		// count as fresh, and the seed would mean little.
		seq := sqn >> gba.DefaultINDBits
		for ind := range uint64(1) << gba.DefaultINDBits {
			arr.Accept(seq<<gba.DefaultINDBits | ind)
		}
		err = arr.Save(path)
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("USIM SQN state: %w", err)
	}
	return path, cleanup, nil
}

func shortVersion(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

// errCallFailed marks a call that did not succeed (exit code 1).
var errCallFailed = errors.New("call failed")

func uriString(u sip.Uri) string { return u.String() }
