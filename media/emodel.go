package media

import (
	"math"
	"time"
)

// EModel holds the inputs of the simplified E-model (ITU-T G.107 (06/2015) §7) for one
// direction of a narrowband call. Every parameter not named here takes its G.107 Table 3
// default, which makes Ro - Is = 93.2 and A = 0.
type EModel struct {
	// OneWayDelay is the mouth-to-ear delay Ta (packetisation + network + jitter buffer).
	OneWayDelay time.Duration
	// PacketLoss is Ppl as a fraction (0..1).
	PacketLoss float64
	// Ie is the equipment impairment factor of the codec; 0 for G.711 (ITU-T G.113 Table I.1).
	Ie float64
	// Bpl is the packet-loss robustness factor; ITU-T G.113 Appendix I gives 4.3 for G.711
	// without packet loss concealment and 25.1 with the G.711 Appendix I PLC.
	Bpl float64
	// BurstR is the burst ratio (1 for random loss, G.107 §7.2.3).
	BurstR float64
}

// Values for G.711 from ITU-T G.113 Appendix I (Tables I.1 and I.3). Streams conceal losses
// with media/jitter's Concealer, a simplified G.711 Appendix I PLC, and so use G711WithPLCBpl;
// since that PLC is simpler than Appendix I, the MOS is an optimistic estimate under loss.
const (
	G711Ie         = 0.0
	G711NoPLCBpl   = 4.3
	G711WithPLCBpl = 25.1
)

// R computes the transmission rating factor
//
//	R = Ro − Is − Id − Ie,eff + A, with Ro − Is = 93.2 (defaults) and A = 0,
//	Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)            (G.107 eq. 7-29, Ppl in %)
//	Id ≈ 0.024·Ta + 0.11·(Ta − 177.3)·H(Ta − 177.3)               (Ta in ms)
//
// The Id term is the widely used linear fit of G.107's Idd/Idte/Idle for default echo and
// loudness settings (Cole and Rosenbluth, "Voice over IP performance monitoring", ACM CCR
// 31(2), 2001); it is a simplification, not the full G.107 §7.3 computation.
func (e EModel) R() float64 {
	ppl := math.Max(0, math.Min(1, e.PacketLoss)) * 100
	burst := e.BurstR
	if burst <= 0 {
		burst = 1
	}
	var ieEff float64
	if ppl == 0 {
		ieEff = e.Ie
	} else {
		ieEff = e.Ie + (95-e.Ie)*ppl/(ppl/burst+e.Bpl)
	}
	ta := float64(e.OneWayDelay) / float64(time.Millisecond)
	if ta < 0 {
		ta = 0
	}
	id := 0.024 * ta
	if ta > 177.3 {
		id += 0.11 * (ta - 177.3)
	}
	return 93.2 - id - ieEff
}

// MOS is the estimated mean opinion score (conversational quality, MOS-CQE) of the rating
// R, G.107 Annex B eq. B-4:
//
//	MOS = 1                                          for R < 0
//	MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶   for 0 ≤ R ≤ 100
//	MOS = 4.5                                        for R > 100
func MOS(r float64) float64 {
	switch {
	case r < 0:
		return 1
	case r > 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}
