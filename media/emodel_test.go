package media

import (
	"math"
	"testing"
	"time"
)

// Values computed by hand from the G.107 formulas quoted on EModel.R and MOS (a second,
// independent computation, not published vectors).
func TestEModel(t *testing.T) {
	for _, c := range []struct {
		name    string
		e       EModel
		r, mos  float64
		epsilon float64
	}{
		// No impairment: R = 93.2; MOS = 1 + 3.262 + 93.2·33.2·6.8·7e-6 = 4.4093.
		{"clean", EModel{Bpl: G711NoPLCBpl}, 93.2, 4.4093, 1e-3},
		// 1 % random loss, no PLC: Ie,eff = 95·1/(1+4.3) = 17.9245; R = 75.2755.
		{"1% loss", EModel{PacketLoss: 0.01, Bpl: G711NoPLCBpl, BurstR: 1}, 75.2755, 1 + 0.035*75.2755 + 75.2755*15.2755*24.7245*7e-6, 1e-3},
		// 200 ms one-way: Id = 4.8 + 0.11·22.7 = 7.297; R = 85.903.
		{"200ms", EModel{OneWayDelay: 200 * time.Millisecond, Bpl: G711NoPLCBpl}, 85.903, 1 + 0.035*85.903 + 85.903*25.903*14.097*7e-6, 1e-3},
		// With G.711 Appendix I PLC, 1 % loss: Ie,eff = 95/(1+25.1) = 3.6398.
		{"1% loss PLC", EModel{PacketLoss: 0.01, Bpl: G711WithPLCBpl, BurstR: 1}, 93.2 - 3.6398, MOS(93.2 - 3.6398), 1e-3},
	} {
		r := c.e.R()
		if math.Abs(r-c.r) > c.epsilon {
			t.Errorf("%s: R = %.4f, want %.4f", c.name, r, c.r)
		}
		if m := MOS(r); math.Abs(m-c.mos) > c.epsilon {
			t.Errorf("%s: MOS = %.4f, want %.4f", c.name, m, c.mos)
		}
	}
	if MOS(-5) != 1 || MOS(120) != 4.5 {
		t.Error("MOS clamps wrong")
	}
}
