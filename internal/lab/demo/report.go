package demo

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the outcome of one demo run. Durations are milliseconds in JSON.
type Report struct {
	OK       bool   `json:"ok"`
	Security string `json:"security"`   // kms, sdes or none
	Suite    string `json:"suite"`      // negotiated SRTP suite, "none" for plain RTP
	Keys     string `json:"key_source"` // mikey, sdes or none
	Domain   string `json:"domain"`     // the lab's home domain
	// SIPTransport carries the UEs' signalling: udp (kms, none; the INVITE with a MIKEY ticket
	// goes by TCP, RFC 3261 §18.1.1) or tls (sdes: RFC 4568 §8.3 keeps SDES keys off clear text).
	SIPTransport string   `json:"sip_transport"`
	Caller       string   `json:"caller"`             // alice's IMPU
	Callee       string   `json:"callee"`             // bob's IMPU
	Steps        []Step   `json:"steps"`              // in the order they ran
	Media        []Flow   `json:"media"`              // alice→bob, bob→alice
	Failures     []string `json:"failures,omitempty"` // what went wrong, if anything
	TotalMS      float64  `json:"total_ms"`
}

// Step is one timed step.
type Step struct {
	Name  string  `json:"name"`  // register, bootstrap, ticket-request, ticket-resolve, call-setup, media, hangup
	Party string  `json:"party"` // alice, bob
	MS    float64 `json:"duration_ms"`
	Error string  `json:"error,omitempty"`
}

// Flow is one media direction, as its receiver saw it.
type Flow struct {
	From, To          string  `json:"-"`
	Direction         string  `json:"direction"` // "alice->bob"
	PacketsSent       uint64  `json:"packets_sent"`
	PacketsReceived   uint64  `json:"packets_received"`
	PacketsLost       int64   `json:"packets_lost"`
	LossPercent       float64 `json:"loss_percent"`
	JitterMS          float64 `json:"jitter_ms"`
	MOS               float64 `json:"mos"`
	SRTPAuthFailures  uint64  `json:"srtp_auth_failures"`
	SRTCPAuthFailures uint64  `json:"srtcp_auth_failures"`
	RTCPReceived      uint64  `json:"rtcp_received"`
	Audio             Audio   `json:"audio"`
}

// Audio says whether what arrived is what was sent.
type Audio struct {
	Sent    string `json:"sent"`    // "tone 440 Hz" or "wav <file>"
	Samples int    `json:"samples"` // received, 8 kHz
	// SNRdB is the sent tone's SNR in the received audio (Goertzel, 200 ms blocks, the upper
	// quartile); OtherSNRdB the other direction's tone, which must not be there.
	SNRdB      *float64 `json:"snr_db,omitempty"`
	OtherSNRdB *float64 `json:"other_snr_db,omitempty"`
	// Correlation is the normalised cross-correlation of the WAV sent with what arrived, at
	// the best delay (WAV only); DelayMS that delay.
	Correlation *float64 `json:"correlation,omitempty"`
	DelayMS     *float64 `json:"delay_ms,omitempty"`
	Matched     bool     `json:"matched"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteText prints the report for people: a few aligned lines, no keys.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "imsphone demo: %s calls %s in lab domain %s, security %s, SIP over %s\n", r.Caller, r.Callee, r.Domain, r.Security, r.SIPTransport)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "steps")
	for _, s := range r.Steps {
		status := "ok"
		if s.Error != "" {
			status = "FAILED: " + s.Error
		}
		fmt.Fprintf(w, "  %-15s %-6s %9.1f ms  %s\n", s.Name, s.Party, s.MS, status)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "protection  suite %s, keys from %s\n", r.Suite, keySourceText(r.Keys))
	for _, f := range r.Media {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "media %s\n", f.Direction)
		fmt.Fprintf(w, "  packets     %d sent, %d received, %d lost (%.1f %%)\n", f.PacketsSent, f.PacketsReceived, f.PacketsLost, f.LossPercent)
		fmt.Fprintf(w, "  quality     jitter %.2f ms, MOS %.2f, RTCP reports %d\n", f.JitterMS, f.MOS, f.RTCPReceived)
		fmt.Fprintf(w, "  auth fails  SRTP %d, SRTCP %d\n", f.SRTPAuthFailures, f.SRTCPAuthFailures)
		fmt.Fprintf(w, "  audio       %s: %s\n", f.Audio.Sent, f.Audio.verdict())
	}
	fmt.Fprintln(w)
	if r.OK {
		fmt.Fprintf(w, "result      OK (%.0f ms in all)\n", r.TotalMS)
		return
	}
	fmt.Fprintf(w, "result      FAILED (%.0f ms in all)\n", r.TotalMS)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  - %s\n", f)
	}
}

func keySourceText(k string) string {
	switch k {
	case "mikey":
		return "mikey (KMS ticket, MIKEY-TICKET RFC 6043)"
	case "sdes":
		return "sdes (a=crypto, RFC 4568)"
	case "none", "":
		return "none (plain RTP)"
	}
	return k
}

func (a Audio) verdict() string {
	var parts []string
	if a.Matched {
		parts = append(parts, "matched")
	} else {
		parts = append(parts, "NOT matched")
	}
	if a.SNRdB != nil {
		parts = append(parts, fmt.Sprintf("tone at %.1f dB SNR", *a.SNRdB))
	}
	if a.OtherSNRdB != nil {
		parts = append(parts, fmt.Sprintf("other tone %.1f dB", *a.OtherSNRdB))
	}
	if a.Correlation != nil {
		parts = append(parts, fmt.Sprintf("correlation %.3f at %.0f ms delay", *a.Correlation, *a.DelayMS))
	}
	parts = append(parts, fmt.Sprintf("%.2f s received", float64(a.Samples)/sampleRate))
	return strings.Join(parts, ", ")
}
