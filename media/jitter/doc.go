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
// Appendix A.8 (J += (|D(i-1,i)| - J)/16, here in nanoseconds):
//
//   - target = 4 × (peak J over the last 2 s), kept in [Config.Min, Config.Max];
//   - delay = how long a packet with the lowest transit time of the last 2 s waits;
//   - after a warm-up of 50 packets, at most once per 5 frames, the delay grows by one frame
//     (a Missing frame is inserted) when it is half a frame below the target, and shrinks by
//     one frame (a frame is dropped) when it is a frame above it;
//   - an empty buffer at a frame's slot conceals and moves the schedule one frame later
//     (a step up in network delay is followed at once), at most 10 frames in a row; the next
//     packet after such a pause restarts the schedule at the target delay;
//   - a packet far from the playout point (more than the capacity ahead or 100 behind) is
//     dropped unless the next one follows it, which restarts the buffer (RFC 3550 A.1
//     probation).
//
// All times come from the caller (arrival and now), so tests run without sleeping.
package jitter
