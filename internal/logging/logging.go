// Package logging builds the log/slog logger of imsphone's commands (imsphone, kms, bsf) from their
// --log-level and --log-format flags, so that every command accepts the same values.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// ErrLevel and ErrFormat report a flag value New does not accept.
var (
	ErrLevel  = errors.New("want debug, info, warn or error")
	ErrFormat = errors.New("want text or json")
)

// New returns a logger writing to w at level ("debug", "info", "warn", "error") in format
// ("text" or "json"). The error names the bad value; the caller adds the flag name.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "info":
		lv = slog.LevelInfo
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		return nil, fmt.Errorf("level %q: %w", level, ErrLevel)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("format %q: %w", format, ErrFormat)
}
