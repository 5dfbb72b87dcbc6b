package media

import (
	"fmt"
	"time"
)

// Stats is a snapshot of one stream's statistics. Reception figures follow RFC 3550 §6.4.1 and
// Appendix A.3/A.8; RTT is §6.4.1's A − LSR − DLSR; the Remote* figures are what the peer
// reported about our packets in its last reception report block.
type Stats struct {
	SSRC, RemoteSSRC uint32

	PacketsSent, OctetsSent         uint64 // RTP packets and payload octets (SR counts)
	PacketsReceived, OctetsReceived uint64 // authenticated RTP packets and payload octets

	PacketsExpected uint64
	HighestSeq      uint32  // extended highest sequence number received (A.1)
	PacketsLost     int64   // cumulative (A.3; duplicates can make it negative on plain RTP)
	LossFraction    float64 // cumulative lost / expected
	FractionLost    float64 // over the last report interval (A.3 "fraction lost")
	Jitter          time.Duration

	RTT      time.Duration
	RTTValid bool

	RemoteFractionLost float64
	RemotePacketsLost  int64
	RemoteJitter       time.Duration

	// RFC 3711 receive-side drops: tag mismatch, missing tag, unknown MKI or clear text on a
	// protected stream; and replay-list rejections (§3.3.2).
	SRTPAuthFailures, SRTCPAuthFailures uint64
	SRTPReplayDrops, SRTCPReplayDrops   uint64
	// Malformed counts datagrams that are neither RTP nor RTCP (or fail to parse once
	// authenticated); Foreign counts packets from an address or SSRC other than the latched one;
	// UnknownPayload counts authenticated RTP with a payload type we did not negotiate.
	Malformed, Foreign, UnknownPayload uint64

	// Jitter buffer: packets that came too late for playout, packets discarded (duplicates,
	// overflow), and frames concealed because nothing was there to play.
	Late, Discarded, Concealed uint64
	PlayoutDelay               time.Duration

	RTCPSent, RTCPReceived uint64
	SkippedTicks           uint64
	EventsDropped          uint64

	// R and MOS are the E-model estimate (ITU-T G.107) for the receive direction.
	R, MOS float64
}

// String is a one-line summary.
func (s Stats) String() string {
	rtt := "n/a"
	if s.RTTValid {
		rtt = s.RTT.Round(100 * time.Microsecond).String()
	}
	return fmt.Sprintf("ssrc=%08x→%08x tx=%d/%dB rx=%d/%dB lost=%d (%.2f%%, last %.2f%%) jitter=%v rtt=%s remote_lost=%d remote_jitter=%v srtp_auth_fail=%d srtcp_auth_fail=%d replay=%d/%d late=%d discarded=%d concealed=%d playout=%v malformed=%d foreign=%d rtcp=%d/%d MOS=%.2f",
		s.SSRC, s.RemoteSSRC, s.PacketsSent, s.OctetsSent, s.PacketsReceived, s.OctetsReceived,
		s.PacketsLost, 100*s.LossFraction, 100*s.FractionLost, s.Jitter.Round(10*time.Microsecond), rtt,
		s.RemotePacketsLost, s.RemoteJitter.Round(10*time.Microsecond),
		s.SRTPAuthFailures, s.SRTCPAuthFailures, s.SRTPReplayDrops, s.SRTCPReplayDrops,
		s.Late, s.Discarded, s.Concealed, s.PlayoutDelay.Round(time.Millisecond), s.Malformed, s.Foreign, s.RTCPSent, s.RTCPReceived, s.MOS)
}
