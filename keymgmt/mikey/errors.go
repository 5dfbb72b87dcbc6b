package mikey

import (
	"errors"
	"fmt"
)

// Sentinel causes of a ParseError; test with errors.Is.
var (
	// ErrTruncated: the input ends, or a length field overruns the bytes that are left.
	ErrTruncated = errors.New("truncated")
	// ErrUnknownPayload: a Next Payload value this package cannot delimit (RFC 3830 §6.1 Table 6.1.b,
	// RFC 6043 Table 6.2), or a payload in a place it cannot appear.
	ErrUnknownPayload = errors.New("unknown payload type")
	// ErrTrailingBytes: bytes left after the payload whose Next Payload is Last (0).
	ErrTrailingBytes = errors.New("trailing bytes")
	// ErrInvalidValue: a field holds a value the RFCs make impossible (bad version, reserved role,
	// length that contradicts the algorithm, zero length where data is required, ...).
	ErrInvalidValue = errors.New("invalid value")
)

// ParseError reports where decoding failed: Offset is the byte offset into the buffer given to the
// parse function (for ParseMessage, the message), Field names the payload and field.
type ParseError struct {
	Offset int
	Field  string
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("mikey: parse %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ProtocolError is a MIKEY processing failure that should be answered with an Error message
// carrying ErrNo (RFC 3830 §5.1.2, §6.12; RFC 6043 §6.9). Exchange, ticket and SRTP code return it.
type ProtocolError struct {
	ErrNo ErrNo
	Err   error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("mikey: %v (error no %d)", e.Err, e.ErrNo)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// marshalError builds the error of a Marshal that meets a value it cannot encode.
func marshalError(field string, format string, args ...any) error {
	return fmt.Errorf("mikey: marshal %s: %w: %s", field, ErrInvalidValue, fmt.Sprintf(format, args...))
}
