// Package interop holds imsphone's interoperability tests against real, independent peers
// started on loopback by the tests themselves: baresip 1.0.0 (SDES-SRTP softphone, RFC 4568,
// RFC 3711), SIPp 3.6.1 (scripted SIP signalling: RFC 3261 §17 retransmission, §22 digest
// challenges, §9 CANCEL, §14 re-INVITE; 3GPP TS 33.203 / RFC 3310 AKAv1-MD5 challenge),
// Kamailio 5.6 (registrar and record-routing proxy with digest authentication, RFC 3261 §10,
// §16.6, §12.2) and tshark 4.0 (Wireshark's SIP, SDP, MIKEY RFC 3830 and RTP dissectors as an
// independent decoder of what imsphone puts on the wire).
//
// The package has no API: everything lives in _test.go files and testdata/ (SIPp scenarios,
// the Kamailio configuration and db_text users). The peers' configurations and the WAV files
// they play are generated at test time in t.TempDir(); every peer listens on a loopback port
// picked free at run time and is killed in t.Cleanup.
//
// A test that needs a peer skips when the program is missing, unless IMSPHONE_REQUIRE_PEERS=1,
// when it fails. Tests that run in real time skip under -short.
//
// docs/interop.md is written by these tests: `go test ./internal/interop -update` renders it
// from what the tests saw (peer versions read from the peers, each check and its result), and a
// full run without -update fails when the committed file disagrees.
package interop
