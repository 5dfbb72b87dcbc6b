package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/gba"
)

func newGBACommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gba",
		Short: "GBA tools: bootstrapping over Ub (TS 24.109) and NAF keys (TS 33.220)",
		Example: `  imsphone gba bootstrap --bsf http://bsf.home1.net/ --impi user1_private@home1.net \
      --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf --naf kms.home1.net`,
	}
	cmd.RunE = groupRunE
	cmd.AddCommand(newGBABootstrapCommand(a))
	return cmd
}

type bootstrapFlags struct {
	bsf, impi, k, op, opc, sqnFile, realm string
	naf, uaProt                           string
	timeout                               time.Duration
	showKeys, json                        bool
}

func newGBABootstrapCommand(a *app) *cobra.Command {
	var f bootstrapFlags
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Run GBA bootstrapping against a BSF and print the B-TID and key lifetime",
		Long: `bootstrap runs the Ub procedure (TS 24.109 clause 4 and Annex A, TS 33.220 §4.5.2): HTTP
Digest AKA (AKAv1-MD5, RFC 3310) answered by a software USIM running Milenage with K and OP or
OPc, including AUTS resynchronisation. It prints the B-TID, the key lifetime and RAND.

With --naf it also derives Ks_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) (TS 33.220 B.3) for
NAF_Id = FQDN || Ua security protocol identifier (--ua-protocol, default 0100000006, the KMS of
TS 33.328, TS 33.220 Annex H). Ks_NAF is printed as its SHA-256 fingerprint, which is safe to
compare with what the NAF holds; Ks and Ks_NAF themselves only with --show-keys.

--sqn-file keeps the USIM's SQN array between runs, so that a second run does not accept an old
AUTN and the BSF sees the USIM's real state.`,
		Example: `  imsphone gba bootstrap --bsf http://bsf.home1.net/ --impi user1_private@home1.net \
      --k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \
      --sqn-file ~/.imsphone/usim.sqn

  # with the KMS key, as JSON
  imsphone gba bootstrap --bsf http://127.0.0.1:8080/ --impi user1_private@home1.net \
      --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf \
      --naf kms.home1.net --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBootstrap(a, cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.bsf, "bsf", "", "BSF Ub URL, e.g. http://bsf.home1.net/")
	fl.StringVar(&f.impi, "impi", "", "IMPI, the private user identity")
	fl.StringVar(&f.k, "k", "", "subscriber key K (16 bytes hex)")
	fl.StringVar(&f.op, "op", "", "OP (16 bytes hex)")
	fl.StringVar(&f.opc, "opc", "", "OPc (16 bytes hex), instead of --op")
	fl.StringVar(&f.sqnFile, "sqn-file", "", "file that keeps the USIM's SQN state (empty: in memory only)")
	fl.StringVar(&f.realm, "realm", "", "expected Digest realm (empty: accept the BSF's)")
	fl.StringVar(&f.naf, "naf", "", "NAF FQDN: also derive Ks_NAF for it")
	fl.StringVar(&f.uaProt, "ua-protocol", "0100000006", "Ua security protocol identifier of NAF_Id (5 bytes hex)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "overall time limit")
	fl.BoolVar(&f.showKeys, "show-keys", false, "print Ks and Ks_NAF (secret!)")
	fl.BoolVar(&f.json, "json", false, "print JSON instead of text")
	for _, n := range []string{"bsf", "impi", "k"} {
		_ = cmd.MarkFlagRequired(n)
	}
	cmd.MarkFlagsMutuallyExclusive("op", "opc")
	cmd.MarkFlagsOneRequired("op", "opc")
	return cmd
}

func runBootstrap(a *app, cmd *cobra.Command, f *bootstrapFlags) error {
	u, err := url.Parse(f.bsf)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("--bsf %q: want an http:// or https:// URL", f.bsf)
	}
	k, err := decodeHexFlag("k", f.k, gba.KeyLen)
	if err != nil {
		return err
	}
	cfg := gba.SoftUSIMConfig{IMPI: f.impi, K: k, SQNFile: f.sqnFile}
	if f.op != "" {
		if cfg.OP, err = decodeHexFlag("op", f.op, gba.KeyLen); err != nil {
			return err
		}
	} else if cfg.OPc, err = decodeHexFlag("opc", f.opc, gba.KeyLen); err != nil {
		return err
	}
	var naf *gba.NAFID
	if f.naf != "" {
		prot, err := decodeHexFlag("ua-protocol", f.uaProt, 5)
		if err != nil {
			return err
		}
		if strings.ContainsAny(f.naf, "/: ") {
			return usageErrorf("--naf %q: want a fully qualified domain name, not a URL", f.naf)
		}
		naf = &gba.NAFID{FQDN: f.naf}
		copy(naf.UaSecProtID[:], prot)
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	usim, err := gba.NewSoftUSIM(cfg)
	if err != nil {
		return fmtErr("USIM", err)
	}
	defer usim.Close()

	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	ub := &gba.UbClient{
		BSFURL: f.bsf, USIM: usim, Realm: f.realm,
		HTTPClient: &http.Client{Timeout: f.timeout},
		Rand:       a.env.Rand, Clock: a.now, Logger: a.log,
	}
	a.log.Info("gba: bootstrapping", "bsf", f.bsf, "impi", f.impi)
	b, err := ub.Bootstrap(ctx)
	if err != nil {
		return fmtErr("bootstrap", err)
	}
	defer b.Zero()
	a.log.Info("gba: bootstrapped", "btid", b.BTID, "lifetime", b.Lifetime)

	out := cmd.OutOrStdout()
	if f.showKeys {
		warnShowKeys(cmd.ErrOrStderr())
	}
	o := (&obj{}).add("IMPI", "impi", b.IMPI).
		add("B-TID", "btid", b.BTID).
		add("lifetime", "lifetime", b.Lifetime.UTC().Format(time.RFC3339)).
		add("valid for", "valid_for", b.Lifetime.Sub(a.now()).Round(time.Second).String()).
		add("RAND", "rand", hexBytes(b.RAND))
	if f.showKeys {
		o.add("Ks", "ks", hexBytes(b.Ks))
	}
	if naf != nil {
		ksNAF := b.KsNAF(*naf)
		defer clear(ksNAF) // after emit: the output aliases it
		sum := sha256.Sum256(ksNAF)
		o.add("NAF_Id", "naf_id", naf.String()).
			add("Ks_NAF SHA-256", "ks_naf_sha256", hexBytes(sum[:]))
		if f.showKeys {
			o.add("Ks_NAF", "ks_naf", hexBytes(ksNAF)).add("Ks_NAF (base64)", "ks_naf_base64", base64.StdEncoding.EncodeToString(ksNAF))
		}
	}
	return emit(out, o, f.json)
}
