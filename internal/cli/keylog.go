package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// keyLogFlag is --keylog FILE: the SRTP master keys of every stream direction, one line each in
// client.Config.KeyLog's format, appended to FILE so Wireshark/tshark can decrypt a capture:
//
//	<RFC 3339 time> <Call-ID> <send|recv> ssrc=<8 hex> suite=<name> key=<base64(key‖salt)> mki=<hex or ->
type keyLogFlag struct {
	path string
}

func (k *keyLogFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.path, "keylog", "", "append the SRTP master keys of each stream to FILE (secret! for decrypting captures while debugging)")
}

// keyLog is an open key log file (or none).
type keyLog struct{ f *os.File }

// open creates the key log (mode 0600: it holds secrets) and warns on stderr that it is on.
func (k *keyLogFlag) open(a *app) (*keyLog, error) {
	if k.path == "" {
		return &keyLog{}, nil
	}
	f, err := os.OpenFile(k.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, usageErrorf("--keylog: %v", err)
	}
	fmt.Fprintf(a.env.Stderr, "imsphone: warning: --keylog writes the SRTP master keys of every call to %s; anyone with that file and a capture hears the calls. Delete it after debugging.\n", k.path)
	return &keyLog{f: f}, nil
}

func (l *keyLog) writer() io.Writer {
	if l.f == nil {
		return nil
	}
	return l.f
}

func (l *keyLog) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
