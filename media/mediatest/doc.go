// Package mediatest holds test helpers for package media: a UDP relay that sits between two
// RTP endpoints on loopback and drops, duplicates, reorders, delays and bit-flips packets,
// deterministically from a seeded math/rand/v2 source, and records what it did so tests can
// compare a receiver's RFC 3550 statistics (§6.4.1 loss, Appendix A.8 jitter) and RFC 3711
// authentication/replay counters against the truth. It can also inject forged packets and
// replay captured ones.
package mediatest
