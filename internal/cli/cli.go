package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/internal/logging"
)

// Exit codes of imsphone. Scripts can tell a wrong invocation from a failed check.
const (
	ExitOK        = 0
	ExitError     = 1 // the command failed (bad input, network, parse error, ...)
	ExitUsage     = 2 // unknown command or flag, missing or conflicting flags
	ExitAuthFail  = 3 // aka: MAC-A in AUTN does not verify (network authentication failure)
	ExitSyncFail  = 4 // aka: SQN not fresh against --sqn-ms; AUTS printed
	ExitMACFailed = 5 // mikey decode: a MAC did not verify with the key given
)

// UDPMaxDatagram is the SIP-over-UDP size limit main sets for sipgo (sip.UDPMTUSize): the
// largest UDP payload, so that INVITEs with MIKEY-TICKET offers are not refused for size.
const UDPMaxDatagram = 65507

// Env is what a command may touch of the outside world; tests inject buffers, a fixed clock and a
// deterministic random source.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Rand supplies RAND for aka --generate and cnonces (nil: crypto/rand).
	Rand io.Reader
	// Version overrides the version from the build info (set by main from -ldflags -X).
	Version string
	// Terminal reports that stdin is a terminal: imsphone without a subcommand then runs the
	// interactive phone.
	Terminal bool
	// SetSIPLogger, when set, is given the logger for sipgo's own transport-layer messages
	// (main passes sip.SetDefaultLogger): the command's logger with --log-level debug, else one
	// that shows only errors, since sipgo's warnings (such as its TCP reference counting on
	// close) are its internal bookkeeping, not the user's concern.
	SetSIPLogger func(*slog.Logger)
}

// exitError carries a specific exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf marks a wrong invocation (exit code 2).
func usageErrorf(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// app is the state shared by the commands of one invocation.
type app struct {
	env       Env
	log       *slog.Logger
	logLevel  string
	logFormat string
}

func (a *app) now() time.Time {
	if a.env.Now != nil {
		return a.env.Now()
	}
	return time.Now()
}

// Execute runs imsphone with args (without the program name) and returns the process exit code.
// Errors are printed to env.Stderr as "imsphone: <error>".
func Execute(ctx context.Context, env Env, args []string) int {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	root := NewRootCommand(env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "imsphone:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isCobraUsageError(err) {
		return ExitUsage
	}
	return ExitError
}

// isCobraUsageError recognises the errors cobra itself returns for a wrong command line (they are
// plain fmt errors, so the text is all there is).
func isCobraUsageError(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least",
		"if any flags in the group", "at least one of the flags", "required flag", "invalid argument", "flag needs an argument", "none of the others can be"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// NewRootCommand builds the imsphone command tree.
func NewRootCommand(env Env) *cobra.Command {
	a := &app{env: env, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	root := &cobra.Command{
		Use:   "imsphone",
		Short: "IMS softphone with media plane security (3GPP TS 33.328) and tester tools",
		Long: `imsphone is a UE-side SIP softphone for protected IMS calls (3GPP TS 33.328): KMS tickets
(MIKEY-TICKET, RFC 6043) in SDP a=key-mgmt (RFC 4567), GBA NAF keys (TS 33.220), SRTP.

Start here:
  demo             a protected call end to end in one process: lab, AKA, GBA, KMS, SRTP

The phone:
  register         register an account (Digest or IMS AKA) and keep it registered
  call URI         place a call: play a tone or WAV, record, DTMF, events and statistics
  answer           wait for calls: answer, reject or ask; play, record
  lab              the in-process IMS lab (registrar/proxy, BSF, KMS) as a long-running process
  phone            interactive prompt: dial, answer, hangup, hold, resume, dtmf, stats
                   (imsphone without a subcommand on a terminal runs it)
Accounts are YAML files (configs/alice.yaml documents every field); flags override them.
Without a registrar, call and answer work peer to peer (--listen, sip:bob@127.0.0.1:5064).

The tester tools compute and decode what the phone exchanges:
  aka              USIM and AuC computations of Milenage (TS 35.206), AUTS
  mikey decode     MIKEY and MIKEY-TICKET messages from base64, hex, SDP or SIP
  gba bootstrap    GBA bootstrapping over Ub (TS 24.109) and Ks_NAF (TS 33.220)

Logs go to stderr; results go to stdout. Exit codes: 0 success, 1 error, 2 usage,
3 AKA MAC failure (also a registrar's AKA challenge), 4 AKA synchronisation failure (AUTS
printed), 5 MIKEY MAC failure. For call: 1 also means the call failed (refused, not answered).`,
		Example: `  imsphone --version
  imsphone answer --listen 127.0.0.1:5064 --auto --record in.wav
  imsphone call --listen 127.0.0.1:5070 --play tone:440 --duration 5s sip:bob@127.0.0.1:5064
  imsphone lab --write-configs /tmp/lab
  imsphone call -c /tmp/lab/alice.yaml --play hello.wav sip:bob@home1.net
  imsphone aka --k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \
      --rand 23553cbe9637a89d218ae64dae47bf35 --autn 55f328b43577b9b94a9ffac354dfafb3
  imsphone mikey decode --file invite.sip
  imsphone --log-level debug --log-format json gba bootstrap --bsf http://bsf.home1.net/ ...`,
		Version:       versionString(env.Version),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			l, err := newLogger(a.env.Stderr, a.logLevel, a.logFormat)
			if err != nil {
				return err
			}
			a.log = l
			if a.env.SetSIPLogger != nil {
				sl := l
				if a.logLevel != "debug" {
					if sl, err = newLogger(a.env.Stderr, "error", a.logFormat); err != nil {
						return err
					}
				}
				a.env.SetSIPLogger(sl)
			}
			return nil
		},
	}
	phone := newPhoneCommand(a)
	// On a terminal, imsphone alone is the interactive phone with the default account; otherwise
	// (a script, a pipe) it prints the help.
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if !a.env.Terminal {
			return cmd.Help()
		}
		phone.SetContext(cmd.Context())
		return phone.RunE(phone, nil)
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text or json")

	root.AddCommand(newAKACommand(a), newMIKEYCommand(a), newGBACommand(a))
	root.AddCommand(newDemoCommand(a))
	root.AddCommand(newRegisterCommand(a), newCallCommand(a), newAnswerCommand(a), newLabCommand(a), phone)
	return root
}

// versionString is the module version from the build info (a tagged build, or "(devel)" for a
// build from the work tree) unless main was linked with -ldflags "-X main.version=...".
func versionString(override string) string {
	v := override
	var rev string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev != "" {
		v += " " + rev
	}
	return v + " " + runtime.Version()
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	log, err := logging.New(w, level, format)
	if errors.Is(err, logging.ErrLevel) {
		return nil, usageErrorf("--log-level: %w", err)
	}
	if err != nil {
		return nil, usageErrorf("--log-format: %w", err)
	}
	return log, nil
}

// warnShowKeys is printed whenever secret key material is about to go to stdout.
func warnShowKeys(w io.Writer) {
	fmt.Fprintln(w, "imsphone: warning: --show-keys prints secret keys to stdout; do not paste them into tickets or logs")
}

// groupRunE makes a command group ("mikey", "gba") print its help when called alone and refuse an
// unknown subcommand with the usage exit code (cobra would print help and exit 0).
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return cmd.Help()
}
