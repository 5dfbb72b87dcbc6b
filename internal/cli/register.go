package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsphone/imsphone/client"
)

func newRegisterCommand(a *app) *cobra.Command {
	var af accountFlags
	var once bool
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register an account and keep the binding fresh until Ctrl-C",
		Long: `register binds the account's contact at its registrar (RFC 3261 §10; Digest, or IMS AKA with the
software USIM of credentials.aka), prints what the registrar granted (lifetime, Service-Route,
P-Associated-URI), refreshes the binding before it runs out until interrupted (or at once with
--once), and de-registers (Expires: 0) on the way out.

Exit codes: 0 registered (and de-registered), 1 refused or unreachable, 2 usage or config error,
3 the registrar's AKA challenge failed network authentication (MAC-A).`,
		Example: `  imsphone register -c configs/alice.yaml
  imsphone register -c configs/alice.yaml --once --log-level debug
  imsphone register --registrar sip:home1.net --proxy 127.0.0.1:5060 -c alice.yaml --expires 300s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			acc, err := af.load(cmd, true)
			if err != nil {
				return err
			}
			u, err := a.startUE(acc, ueOptions{})
			if err != nil {
				return err
			}
			defer u.close()
			return a.runRegister(cmd.Context(), u, once)
		},
	}
	af.add(cmd)
	cmd.Flags().BoolVar(&once, "once", false, "register, print the result, de-register and exit")
	return cmd
}

// registerAndPrint registers the account if it has a registrar and prints the outcome.
func (a *app) registerAndPrint(ctx context.Context, u *ue) error {
	if u.acc.Registrar == "" {
		return nil
	}
	via := ""
	if u.acc.OutboundProxy != "" {
		via = " via " + u.acc.OutboundProxy
	}
	fmt.Fprintf(a.env.Stdout, "registering %s at %s%s ...\n", uriString(u.phone.AOR()), u.acc.Registrar, via)
	start := time.Now()
	if err := u.register(ctx); err != nil {
		return registerError(err)
	}
	printRegistration(a.env.Stdout, u, time.Since(start))
	return nil
}

func (a *app) runRegister(ctx context.Context, u *ue, once bool) error {
	out := a.env.Stdout
	if err := a.registerAndPrint(ctx, u); err != nil {
		return err
	}
	if !once {
		fmt.Fprintln(out, "refreshing the binding until interrupted (Ctrl-C)")
		<-ctx.Done()
	}
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.reg.Unregister(dctx); err != nil {
		return fmt.Errorf("de-register: %w", err)
	}
	fmt.Fprintln(out, "de-registered")
	return nil
}

// registerError gives a registration failure its exit code.
func registerError(err error) error {
	if errors.Is(err, client.ErrNetworkAuth) {
		return &exitError{code: ExitAuthFail, err: fmt.Errorf("register: %w", err)}
	}
	return fmt.Errorf("register: %w", err)
}

func printRegistration(w io.Writer, u *ue, took time.Duration) {
	r := u.reg
	fmt.Fprintf(w, "registered %s at %s in %v\n", uriString(u.phone.AOR()), u.acc.Registrar, took.Round(time.Millisecond))
	fmt.Fprintf(w, "  contact:          %s\n", uriString(u.phone.URI()))
	fmt.Fprintf(w, "  expires:          %v\n", r.Expires())
	fmt.Fprintf(w, "  service-route:    %s\n", orNone(r.ServiceRoute()))
	fmt.Fprintf(w, "  associated-uris:  %s\n", orNone(r.AssociatedURIs()))
	if o := r.ObservedAddr(); o.IsValid() {
		fmt.Fprintf(w, "  observed-address: %s\n", o)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}
