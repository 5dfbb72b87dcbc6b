package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

func newMIKEYCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mikey",
		Short: "MIKEY and MIKEY-TICKET tools (RFC 3830, RFC 6043)",
		Example: `  imsphone mikey decode AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2UaDX8ZE22YwK...
  imsphone mikey decode --file offer.sdp --json`,
	}
	cmd.RunE = groupRunE
	cmd.AddCommand(newMIKEYDecodeCommand(a))
	return cmd
}

type mikeyDecodeFlags struct {
	files    []string
	format   string
	json     bool
	psk, mpk string
	showKeys bool
}

func newMIKEYDecodeCommand(a *app) *cobra.Command {
	var f mikeyDecodeFlags
	cmd := &cobra.Command{
		Use:   "decode [MESSAGE...]",
		Short: "Decode MIKEY messages from base64, hex, binary, SDP or a SIP message",
		Long: `decode prints every payload and field of MIKEY messages (RFC 3830 §6) including the
MIKEY-TICKET payloads of RFC 6043 §6: GENERIC-ID map entries with SSRC/ROC/SEQ/SPI, TP flags by
letter, TICKET with Ticket Data and Initiator Data, IDR, RANDR and TR roles.

Messages come from the arguments, from --file (repeatable), or from stdin ("-" or no argument),
and are decoded in that order. With
--input-format auto (the default) input holding an a=key-mgmt attribute is read as SDP or as a
SIP message with an SDP body, and every a=key-mgmt:mikey line (session and media level, RFC 4567)
is decoded; otherwise the input is one message in hex, base64 (with or without the "mikey "
prefix) or binary.

Keys (--psk, alias --key; --mpk) verify the MAC and decrypt the KEMAC with the exchange rules of
package keymgmt/mikey:
  --psk  RFC 3830 PSK init (and its verification message when the init precedes it in the input),
         REQUEST_INIT_PSK, RESOLVE_INIT_PSK, and REQUEST_RESP / RESOLVE_RESP when their request
         precedes them in the input (RFC 6043 §4.2.1, §4.2.3)
  --mpk  TRANSFER_INIT keyed by MPKi, and TRANSFER_RESP when its TRANSFER_INIT precedes it and
         no key forking is used (RFC 6043 §4.2.2)
Timestamps are not checked against a clock. Key data is shown by type, length and SPI; the key
bytes only with --show-keys (a warning goes to stderr).

A malformed message is reported with the payload, field and byte offset, and the exit code is 1;
a MAC that does not verify with the given key exits 5.`,
		Example: `  # the RFC 4567 §5.1 offer, base64 on the command line
  imsphone mikey decode AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2UaDX8ZE22YwKAAAPZG9uYWxkQGR1Y2suY29tAQAAAAAAAQAk0JKpgaVkDaawi9whVBtBt0KZ14ymNuu62+Nv3ozPLygwK/GbAV9iemnGUIZ19fWQUOSrzKTAv9zV

  # every a=key-mgmt:mikey line of a SIP INVITE, as JSON
  imsphone mikey decode --file invite.sip --json

  # hex from a Wireshark copy, on stdin
  xclip -o | imsphone mikey decode --input-format hex

  # a TRANSFER_INIT with the MPKi from REQUEST_RESP, keys shown
  imsphone mikey decode --file invite.sdp --mpk 000102...1f --show-keys

  # a Ticket Request exchange captured as two HTTP bodies, verified with Ks_NAF
  imsphone mikey decode --psk "$KS_NAF_HEX" -f request_init.bin -f request_resp.bin`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMIKEYDecode(a, cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "file", "f", nil, `read input from a file ("-" for stdin); repeatable`)
	fl.StringVar(&f.format, "input-format", formatAuto, "auto, base64, hex, sdp (SDP or SIP message) or raw (binary)")
	fl.BoolVar(&f.json, "json", false, "print JSON instead of text")
	fl.StringVar(&f.psk, "psk", "", "pre-shared key (hex) for RFC 3830 PSK and RFC 6043 *_PSK messages")
	fl.StringVar(&f.psk, "key", "", "alias of --psk")
	fl.StringVar(&f.mpk, "mpk", "", "MPKi (hex) for TRANSFER_INIT / TRANSFER_RESP")
	fl.BoolVar(&f.showKeys, "show-keys", false, "print decrypted key bytes (secret!)")
	cmd.MarkFlagsMutuallyExclusive("psk", "key")
	cmd.MarkFlagsMutuallyExclusive("psk", "mpk")
	cmd.MarkFlagsMutuallyExclusive("key", "mpk")
	return cmd
}

// source is one input: its label and bytes.
type source struct {
	label string
	data  []byte
}

func readInputs(cmd *cobra.Command, args, files []string) ([]source, error) {
	if len(files) > 0 && len(args) > 0 {
		return nil, usageErrorf("give messages either as arguments or with --file, not both")
	}
	if len(files) == 0 && len(args) == 0 {
		args = []string{"-"}
	}
	var out []source
	stdinUsed := false
	readStdin := func() ([]byte, error) {
		if stdinUsed {
			return nil, usageErrorf(`stdin ("-") given twice`)
		}
		stdinUsed = true
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxInput+1))
		if err != nil {
			return nil, fmtErr("read stdin", err)
		}
		return checkSize(b)
	}
	for i, a := range args {
		label := "input"
		if len(args) > 1 {
			label = fmt.Sprintf("argument %d", i+1)
		}
		if a == "-" {
			b, err := readStdin()
			if err != nil {
				return nil, err
			}
			out = append(out, source{"stdin", b})
			continue
		}
		out = append(out, source{label, []byte(a)})
	}
	for _, f := range files {
		if f == "-" {
			b, err := readStdin()
			if err != nil {
				return nil, err
			}
			out = append(out, source{"stdin", b})
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if b, err = checkSize(b); err != nil {
			return nil, fmtErr(f, err)
		}
		out = append(out, source{"file " + f, b})
	}
	return out, nil
}

// maxInput bounds what decode reads: a SIP message with SDP is a few kB, a MIKEY message at most
// a few hundred bytes.
const maxInput = 16 << 20

func checkSize(b []byte) ([]byte, error) {
	if len(b) > maxInput {
		return nil, fmt.Errorf("input larger than %d bytes", maxInput)
	}
	return b, nil
}

func runMIKEYDecode(a *app, cmd *cobra.Command, args []string, f *mikeyDecodeFlags) error {
	var psk, mpk []byte
	var err error
	if f.psk != "" {
		if psk, err = decodeHexFlag("psk", f.psk, 0); err != nil {
			return err
		}
	}
	if f.mpk != "" {
		if mpk, err = decodeHexFlag("mpk", f.mpk, 0); err != nil {
			return err
		}
	}
	srcs, err := readInputs(cmd, args, f.files)
	if err != nil {
		return err
	}
	var inputs []mikeyInput
	for _, src := range srcs {
		ins, err := extractMIKEY(src.data, f.format)
		if err != nil {
			if len(srcs) > 1 {
				return fmtErr(src.label, err)
			}
			return err
		}
		for _, in := range ins {
			if len(srcs) > 1 { // with one source the location inside it is enough
				if in.Source == "input" {
					in.Source = src.label
				} else {
					in.Source = src.label + ", " + in.Source
				}
			}
			inputs = append(inputs, in)
		}
	}
	if f.showKeys {
		warnShowKeys(cmd.ErrOrStderr())
	}
	a.log.Debug("mikey decode", "messages", len(inputs), "psk", psk != nil, "mpk", mpk != nil)

	d := &decoder{psk: psk, mpk: mpk, showKeys: f.showKeys}
	var msgs []*obj
	var failed []error
	macFailed := false
	for i, in := range inputs {
		o, err := d.decode(in)
		msgs = append(msgs, o)
		if err != nil {
			failed = append(failed, fmt.Errorf("message %d (%s): %w", i+1, in.Source, err))
			var pe *mikey.ProtocolError
			if errors.As(err, &pe) && pe.ErrNo == mikey.ErrAuthFailure {
				macFailed = true
			}
		}
	}
	out := cmd.OutOrStdout()
	if f.json {
		if err := emit(out, (&obj{}).add("messages", "messages", msgs), true); err != nil {
			return err
		}
	} else {
		for i, o := range msgs {
			if i > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "MIKEY message %d of %d\n", i+1, len(msgs))
			o.writeText(out, 2)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	code := ExitError
	if macFailed {
		code = ExitMACFailed
	}
	return &exitError{code: code, err: errors.Join(failed...)}
}

// decoder decodes the messages of one input in order; a response is verified against the request
// that came before it in the same input.
type decoder struct {
	psk, mpk []byte
	showKeys bool

	pskInitMsg     *mikey.Message
	pskInit        *mikey.PSKInit
	requestInit    *mikey.Message
	resolveInit    *mikey.Message
	transferInit   *mikey.Message
	transferInitOK bool
}

func (d *decoder) decode(in mikeyInput) (*obj, error) {
	o := (&obj{}).add("source", "source", in.Source)
	if in.Err != nil {
		o.add("error", "error", in.Err.Error())
		return o, in.Err
	}
	o.add("length", "length", uint64(len(in.Data)))
	m, err := mikey.ParseMessage(in.Data)
	if err != nil {
		var pe *mikey.ParseError
		if errors.As(err, &pe) {
			o.add("error offset", "error_offset", uint64(pe.Offset)).add("error field", "error_field", pe.Field)
		}
		o.add("error", "error", err.Error())
		return o, err
	}
	o.add("HDR", "hdr", describeHDR(&m.HDR)).add("payload", "payloads", describePayloads(m.Payloads, d.showKeys))
	if d.psk == nil && d.mpk == nil {
		d.remember(m)
		return o, nil
	}
	v, err := d.verify(m)
	d.remember(m)
	if v != nil {
		o.add("verification", "verification", v)
	}
	if err != nil {
		o.add("error", "error", err.Error())
	}
	return o, err
}

func (d *decoder) remember(m *mikey.Message) {
	switch m.HDR.DataType {
	case mikey.DataTypeRequestInitPSK:
		d.requestInit = m
	case mikey.DataTypeResolveInitPSK:
		d.resolveInit = m
	case mikey.DataTypeTransferInit:
		d.transferInit = m
	case mikey.DataTypePSKInit:
		d.pskInitMsg = m
	}
}

// verify checks the MAC and decrypts the KEMAC with the key given for this kind of message.
func (d *decoder) verify(m *mikey.Message) (*obj, error) {
	v := &obj{}
	note := func(s string) (*obj, error) { return v.add("note", "note", s), nil }
	dt := m.HDR.DataType
	if d.psk != nil {
		switch dt {
		case mikey.DataTypePSKInit:
			r, err := mikey.VerifyPSKInit(m, d.psk)
			if err != nil {
				return v.add("MAC", "mac_verified", false), fmtErr("PSK init", err)
			}
			d.pskInit = r
			v.add("key", "key", "PSK").add("MAC", "mac_verified", true).add("keys", "keys", describeKeys(r.Keys, d.showKeys))
			return v, nil
		case mikey.DataTypePSKVerify:
			if d.pskInit == nil {
				return note("the verification message is checked against its PSK init message, which must come first in the input")
			}
			if _, err := mikey.VerifyPSKVerify(m, d.pskInitMsg, d.pskInit.MsgKeys); err != nil {
				return v.add("MAC", "mac_verified", false), fmtErr("verification message", err)
			}
			return v.add("key", "key", "PSK").add("MAC", "mac_verified", true), nil
		case mikey.DataTypeRequestInitPSK:
			if _, err := mikey.VerifyRequestInitPSK(m, d.psk); err != nil {
				return v.add("MAC", "mac_verified", false), fmtErr("REQUEST_INIT_PSK", err)
			}
			return v.add("key", "key", "PSK").add("MAC", "mac_verified", true), nil
		case mikey.DataTypeResolveInitPSK:
			if _, err := mikey.VerifyResolveInitPSK(m, d.psk); err != nil {
				return v.add("MAC", "mac_verified", false), fmtErr("RESOLVE_INIT_PSK", err)
			}
			return v.add("key", "key", "PSK").add("MAC", "mac_verified", true), nil
		case mikey.DataTypeRequestResp:
			if d.requestInit == nil {
				return note("REQUEST_RESP is verified against its REQUEST_INIT_PSK (RFC 6043 Table 5.2), which must come first in the input")
			}
			r, err := mikey.VerifyRequestResp(m, d.requestInit, d.psk)
			if err != nil {
				return v.add("MAC", "mac_verified", false), fmtErr("REQUEST_RESP", err)
			}
			return d.ticketKeys(v.add("key", "key", "PSK").add("MAC", "mac_verified", true), r.Keys), nil
		case mikey.DataTypeResolveResp:
			if d.resolveInit == nil {
				return note("RESOLVE_RESP is verified against its RESOLVE_INIT_PSK (RFC 6043 Table 5.2), which must come first in the input")
			}
			r, err := mikey.VerifyResolveResp(m, d.resolveInit, d.psk)
			if err != nil {
				return v.add("MAC", "mac_verified", false), fmtErr("RESOLVE_RESP", err)
			}
			return d.ticketKeys(v.add("key", "key", "PSK").add("MAC", "mac_verified", true), r.Keys), nil
		}
		return note(fmt.Sprintf("--psk does not apply to data type %d", dt))
	}
	switch dt {
	case mikey.DataTypeTransferInit:
		r, err := mikey.VerifyTransferInit(m, d.mpk)
		if err != nil {
			return v.add("MAC", "mac_verified", false), fmtErr("TRANSFER_INIT", err)
		}
		d.transferInitOK = true
		v.add("key", "key", "MPKi").add("MAC", "mac_verified", true).
			add("KEMAC keys", "kemac_keys", describeKeys(r.KEMACKeys, d.showKeys))
		return v, nil
	case mikey.DataTypeTransferResp:
		if d.transferInit == nil {
			return note("TRANSFER_RESP is verified against its TRANSFER_INIT (RFC 6043 Table 5.2), which must come first in the input")
		}
		r, err := mikey.VerifyTransferResp(m, d.transferInit, mikey.TicketKeys{MPKi: d.mpk})
		if err != nil {
			return v.add("MAC", "mac_verified", false), fmtErr("TRANSFER_RESP", err)
		}
		v.add("key", "key", "MPKi").add("MAC", "mac_verified", true).
			add("KEMAC keys", "kemac_keys", describeKeys(r.KEMACKeys, d.showKeys))
		return v, nil
	}
	return note(fmt.Sprintf("--mpk does not apply to data type %d", dt))
}

func (d *decoder) ticketKeys(v *obj, k mikey.TicketKeys) *obj {
	v.add("MPKi length", "mpki_length", uint64(len(k.MPKi)))
	if d.showKeys {
		v.add("MPKi", "mpki", hexBytes(k.MPKi))
	}
	if len(k.MPKr) > 0 {
		v.add("MPKr length", "mpkr_length", uint64(len(k.MPKr)))
		if d.showKeys {
			v.add("MPKr", "mpkr", hexBytes(k.MPKr))
		}
	}
	return v.add("session keys", "session_keys", describeKeys(k.Keys, d.showKeys))
}
