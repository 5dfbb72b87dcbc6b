package mikey

import "time"

// TR is the timestamp payload with role indicator (RFC 6043 §6.4).
type TR struct {
	Role   TSRole
	TSType TSType
	Value  uint64 // 32-bit types use the low 32 bits, as in T
}

func (*TR) PayloadType() PayloadType { return PayloadTR }

// IV64 is the 64-bit form of the value (see T.IV64).
func (t *TR) IV64() uint64 { return tsIV64(t.TSType, t.Value) }

// Time converts a clock timestamp with the RFC 4330 era rule (RFC 6043 §6.10: TRs and TRe lie in
// 1968-2104). TRr (NTP-UTC-32) is an interval: use Value as seconds instead.
func (t *TR) Time() (time.Time, error) { return tsTime(t.TSType, t.Value) }

func (t *TR) parseBody(d *decoder) error {
	off := d.off
	r, err := d.u8("TS Role")
	if err != nil {
		return err
	}
	if r == 0 || r == 255 {
		return invalid(off, "TR TS Role", "reserved role %d", r)
	}
	t.Role = TSRole(r)
	t.TSType, t.Value, err = parseTS(d)
	return err
}

func (t *TR) appendBody(b []byte) ([]byte, error) {
	if t.Role == 0 || t.Role == 255 {
		return nil, marshalError("TR TS Role", "reserved role %d", t.Role)
	}
	return appendTS(append(b, byte(t.Role)), t.TSType, t.Value, "TR")
}
