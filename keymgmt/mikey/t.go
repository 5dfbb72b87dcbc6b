package mikey

import (
	"encoding/binary"
	"fmt"
	"time"
)

// T is the timestamp payload (RFC 3830 §6.6, RFC 6043 §6.3). For the 32-bit types (COUNTER,
// NTP-UTC-32) only the low 32 bits of Value are used.
type T struct {
	TSType TSType
	Value  uint64
}

func (*T) PayloadType() PayloadType { return PayloadT }

// tsLen is the TS value length of a TS type, or 0 if the type is unknown.
func tsLen(t TSType) int {
	switch t {
	case TSNTPUTC, TSNTP:
		return 8
	case TSCOUNTER, TSNTPUTC32:
		return 4
	}
	return 0
}

// IV64 is the 64-bit form used as PRF and AES-CM IV input: COUNTER is left-padded with zeros
// (RFC 3830 §6.6) and NTP-UTC-32 gets a zero fraction (RFC 6043 §6.3).
func (t *T) IV64() uint64 { return tsIV64(t.TSType, t.Value) }

func tsIV64(typ TSType, v uint64) uint64 {
	switch typ {
	case TSCOUNTER:
		return v & 0xffffffff
	case TSNTPUTC32:
		return (v & 0xffffffff) << 32
	}
	return v
}

// Time converts an NTP-UTC, NTP or NTP-UTC-32 timestamp to time.Time with the RFC 4330 era rule.
func (t *T) Time() (time.Time, error) { return tsTime(t.TSType, t.Value) }

func tsTime(typ TSType, v uint64) (time.Time, error) {
	switch typ {
	case TSNTPUTC, TSNTP:
		return NTP64ToTime(v), nil
	case TSNTPUTC32:
		return NTP32ToTime(uint32(v)), nil
	}
	return time.Time{}, fmt.Errorf("mikey: TS type %d is not a clock time", typ)
}

// NewTNTPUTC builds a T payload of type NTP-UTC for t.
func NewTNTPUTC(t time.Time) (*T, error) {
	v, err := TimeToNTP64(t)
	if err != nil {
		return nil, err
	}
	return &T{TSType: TSNTPUTC, Value: v}, nil
}

func parseTS(d *decoder) (TSType, uint64, error) {
	off := d.off
	ty, err := d.u8("TS type")
	if err != nil {
		return 0, 0, err
	}
	n := tsLen(TSType(ty))
	if n == 0 {
		return 0, 0, d.invalid(off, "TS type", "unknown TS type %d", ty)
	}
	val, err := d.bytes(n, "TS value")
	if err != nil {
		return 0, 0, err
	}
	if n == 4 {
		return TSType(ty), uint64(binary.BigEndian.Uint32(val)), nil
	}
	return TSType(ty), binary.BigEndian.Uint64(val), nil
}

func appendTS(b []byte, ty TSType, v uint64, field string) ([]byte, error) {
	switch tsLen(ty) {
	case 8:
		return binary.BigEndian.AppendUint64(append(b, byte(ty)), v), nil
	case 4:
		if v > 0xffffffff {
			return nil, marshalError(field+" TS value", "TS type %d is 32 bits, value %#x", ty, v)
		}
		return appendU32(append(b, byte(ty)), uint32(v)), nil
	}
	return nil, marshalError(field+" TS type", "unknown TS type %d", ty)
}

func (t *T) parseBody(d *decoder) (err error) {
	t.TSType, t.Value, err = parseTS(d)
	return err
}

func (t *T) appendBody(b []byte) ([]byte, error) { return appendTS(b, t.TSType, t.Value, "T") }
