package cli

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/gba"
)

type akaFlags struct {
	k, op, opc, rand, autn string
	sqnMS                  string
	generate               bool
	sqn, amf               string
	json                   bool
}

func newAKACommand(a *app) *cobra.Command {
	var f akaFlags
	cmd := &cobra.Command{
		Use:   "aka",
		Short: "Milenage AKA: USIM side (RES, CK, IK or AUTS) or network side (authentication vector)",
		Long: `aka runs the Milenage algorithm set (3GPP TS 35.206) as a USIM or as the AuC does.

USIM side (TS 33.102 §6.3.3): from K, OP or OPc, RAND and AUTN it computes AK = f5(RAND),
SQN = AUTN[0..5] XOR AK, checks MAC-A = f1(SQN, RAND, AMF) against XMAC-A, and prints RES = f2,
CK = f3, IK = f4. With --sqn-ms (the USIM's highest accepted SQN) an SQN <= SQN_MS is a
synchronisation failure (the freshness rule of TS 33.102 Annex C.2.2 for a single counter, IND
length 0; the Annex C Delta and L limits are not applied): it prints AUTS = (SQN_MS XOR AK*) || MAC-S (TS 33.102 §6.3.5) instead
of RES. A failed MAC-A check exits 3, a synchronisation failure exits 4; RES, CK and IK are then
not printed, as a USIM would not release them.

Network side (--generate, TS 33.102 §6.3.2): from K, OP or OPc, SQN and AMF (and RAND, random
when omitted) it prints the authentication vector RAND, AUTN, XRES, CK, IK.

Values are hex (spaces and colons allowed); SQN is decimal or 0x-prefixed hex.`,
		Example: `  # TS 35.208 test set 1, USIM side
  imsphone aka --k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \
      --rand 23553cbe9637a89d218ae64dae47bf35 --autn 55f328b43577b9b94a9ffac354dfafb3

  # the same challenge for a USIM that has already seen a higher SQN: AUTS
  imsphone aka --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf \
      --rand 23553cbe9637a89d218ae64dae47bf35 --autn 55f328b43577b9b94a9ffac354dfafb3 \
      --sqn-ms 0xffffffffff00

  # network side: an authentication vector, as JSON
  imsphone aka --generate --k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \
      --rand 23553cbe9637a89d218ae64dae47bf35 --sqn 0xff9bb4d0b607 --amf b9b9 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAKA(a, cmd.OutOrStdout(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.k, "k", "", "subscriber key K (16 bytes hex)")
	fl.StringVar(&f.op, "op", "", "operator variant OP (16 bytes hex); OPc is derived from it")
	fl.StringVar(&f.opc, "opc", "", "OPc (16 bytes hex), instead of --op")
	fl.StringVar(&f.rand, "rand", "", "RAND (16 bytes hex); with --generate, random when omitted")
	fl.StringVar(&f.autn, "autn", "", "AUTN (16 bytes hex), USIM side")
	fl.StringVar(&f.sqnMS, "sqn-ms", "", "USIM side: the USIM's SQN_MS; SQN <= SQN_MS gives AUTS")
	fl.BoolVar(&f.generate, "generate", false, "network side: generate an authentication vector")
	fl.StringVar(&f.sqn, "sqn", "", "with --generate: SQN (decimal or 0x hex, 48 bits)")
	fl.StringVar(&f.amf, "amf", "", "with --generate: AMF (2 bytes hex)")
	fl.BoolVar(&f.json, "json", false, "print JSON instead of text")
	_ = cmd.MarkFlagRequired("k")
	cmd.MarkFlagsMutuallyExclusive("op", "opc")
	cmd.MarkFlagsOneRequired("op", "opc")
	cmd.MarkFlagsMutuallyExclusive("generate", "autn")
	cmd.MarkFlagsMutuallyExclusive("generate", "sqn-ms")
	return cmd
}

func runAKA(a *app, out io.Writer, f *akaFlags) error {
	k, err := decodeHexFlag("k", f.k, gba.KeyLen)
	if err != nil {
		return err
	}
	res := &obj{}
	var opc []byte
	if f.op != "" {
		op, err := decodeHexFlag("op", f.op, gba.KeyLen)
		if err != nil {
			return err
		}
		if opc, err = gba.ComputeOPc(k, op); err != nil {
			return fmtErr("OPc", err)
		}
		res.add("OPc", "opc", hexBytes(opc))
	} else if opc, err = decodeHexFlag("opc", f.opc, gba.KeyLen); err != nil {
		return err
	}
	m, err := gba.NewMilenage(k, opc)
	if err != nil {
		return fmtErr("milenage", err)
	}
	defer m.Zero()
	if f.generate {
		return akaGenerate(a, out, f, m, res)
	}
	if f.sqn != "" || f.amf != "" {
		return usageErrorf("--sqn and --amf go with --generate; the USIM side reads SQN and AMF from AUTN")
	}
	if f.rand == "" || f.autn == "" {
		return usageErrorf("the USIM side needs --rand and --autn (or use --generate)")
	}
	rnd, err := decodeHexFlag("rand", f.rand, gba.RANDLen)
	if err != nil {
		return err
	}
	autn, err := decodeHexFlag("autn", f.autn, gba.AUTNLen)
	if err != nil {
		return err
	}
	var sqnMS uint64
	haveSQNMS := f.sqnMS != ""
	if haveSQNMS {
		if sqnMS, err = parseSQN("sqn-ms", f.sqnMS); err != nil {
			return err
		}
	}
	a.log.Debug("aka: USIM side", "sqn_ms_given", haveSQNMS)

	resv, ck, ik, ak, err := m.F2345(rnd)
	if err != nil {
		return fmtErr("f2345", err)
	}
	sqnB := make([]byte, gba.SQNLen)
	for i := range sqnB {
		sqnB[i] = autn[i] ^ ak[i]
	}
	amf := autn[gba.SQNLen : gba.SQNLen+gba.AMFLen]
	macA := autn[gba.SQNLen+gba.AMFLen:]
	xmac, _, err := m.F1(rnd, sqnB, amf)
	if err != nil {
		return fmtErr("f1", err)
	}
	sqn := gba.GetSQN(sqnB)
	macOK := subtle.ConstantTimeCompare(xmac, macA) == 1
	res.add("AK", "ak", hexBytes(ak)).
		add("SQN", "sqn", hexBytes(sqnB)).
		add("SQN (decimal)", "sqn_decimal", sqn).
		add("AMF", "amf", hexBytes(amf)).
		add("MAC-A", "mac_a", hexBytes(macA)).
		add("XMAC-A", "xmac_a", hexBytes(xmac))
	switch {
	case !macOK:
		res.add("MAC-A check", "mac_a_ok", false).add("result", "result", "MAC failure: AUTN not from the home network")
		if err := emit(out, res, f.json); err != nil {
			return err
		}
		return &exitError{code: ExitAuthFail, err: gba.ErrMACFailure}
	case haveSQNMS && sqn <= sqnMS:
		auts, err := gba.ComputeAUTS(m, rnd, sqnMS)
		if err != nil {
			return fmtErr("AUTS", err)
		}
		res.add("MAC-A check", "mac_a_ok", true).
			add("SQN_MS", "sqn_ms", hexBytes(gba.PutSQN(sqnMS))).
			add("result", "result", "synchronisation failure: SQN not above SQN_MS").
			add("AUTS", "auts", hexBytes(auts))
		if err := emit(out, res, f.json); err != nil {
			return err
		}
		return &exitError{code: ExitSyncFail, err: fmt.Errorf("synchronisation failure: SQN %#x <= SQN_MS %#x; AUTS printed", sqn, sqnMS)}
	}
	res.add("MAC-A check", "mac_a_ok", true).add("result", "result", "success").
		add("RES", "res", hexBytes(resv)).
		add("CK", "ck", hexBytes(ck)).
		add("IK", "ik", hexBytes(ik))
	return emit(out, res, f.json)
}

func akaGenerate(a *app, out io.Writer, f *akaFlags, m *gba.Milenage, res *obj) error {
	if f.sqn == "" || f.amf == "" {
		return usageErrorf("--generate needs --sqn and --amf")
	}
	sqn, err := parseSQN("sqn", f.sqn)
	if err != nil {
		return err
	}
	amf, err := decodeHexFlag("amf", f.amf, gba.AMFLen)
	if err != nil {
		return err
	}
	var rnd []byte
	if f.rand != "" {
		if rnd, err = decodeHexFlag("rand", f.rand, gba.RANDLen); err != nil {
			return err
		}
	} else {
		src := a.env.Rand
		if src == nil {
			src = rand.Reader
		}
		rnd = make([]byte, gba.RANDLen)
		if _, err := io.ReadFull(src, rnd); err != nil {
			return fmtErr("RAND", err)
		}
	}
	av, err := gba.GenerateAuthVector(m, rnd, sqn, amf)
	if err != nil {
		return fmtErr("authentication vector", err)
	}
	defer av.Zero()
	a.log.Debug("aka: generated vector", "vector", av)
	res.add("RAND", "rand", hexBytes(av.RAND)).
		add("SQN", "sqn", hexBytes(gba.PutSQN(sqn))).
		add("AMF", "amf", hexBytes(amf)).
		add("AUTN", "autn", hexBytes(av.AUTN)).
		add("XRES", "xres", hexBytes(av.XRES)).
		add("CK", "ck", hexBytes(av.CK)).
		add("IK", "ik", hexBytes(av.IK))
	return emit(out, res, f.json)
}
