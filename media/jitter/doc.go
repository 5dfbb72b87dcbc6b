// Package jitter is the receive-side playout buffer for 20 ms (or other fixed-interval) RTP
// audio frames.
//
// Buffer reorders packets by RTP sequence number (extended across the 65536 wrap the way RFC 3550
// Appendix A.1 extends them), drops duplicates, discards packets whose playout slot has passed
// (counted as late), and plays each frame at its RTP timestamp plus an adaptive playout delay.
// A frame whose slot comes while it is absent is returned as Missing, so the caller conceals it;
// Concealer is a small packet loss concealment for G.711 (ITU-T G.711 Appendix I in spirit:
// pitch-period repetition, attenuated, silent after 60 ms).
//
// The playout delay adapts to the interarrival jitter J of RFC 3550 §6.4.1, computed as in
// Appendix A.8 (J += (|D(i-1,i)| - J)/16). See Config for the rule and its bounds.
package jitter
