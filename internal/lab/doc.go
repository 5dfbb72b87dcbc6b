// Package lab is the in-process IMS lab for the demo and the tests: one home domain with a
// registrar/proxy (package registrar: RFC 3261 §10 and §16, Digest MD5/SHA-256 per RFC 7616 and
// RFC 8760, IMS AKA per RFC 3310 and RFC 4169, RFC 3581, RFC 3608 Service-Route, RFC 3455
// P-Associated-URI, TS 24.229 §5.4.1 simplified), the test BSF of package gba/bsf (Ub per TS
// 24.109, Zn per TS 33.220 §4.5.3), and one HSS/AuC (TS 33.102 §6.3, Milenage TS 35.206) behind
// both, so a UE's USIM sees a single SQN sequence.
//
// Start binds everything on loopback (UDP and TCP of the SIP core share one port) and returns
// the addresses and the per-subscriber settings a UE needs; Close stops all of it. The
// configuration comes from a Config value or from YAML (LoadConfig; testdata/lab.yaml shows
// every field). The KMS of TS 33.328 is a NAF and joins the lab after the BSF, using ZnURL and
// ZnBearerToken.
//
// The lab is for loopback testing only: plain HTTP on Ub and Zn, no TLS on SIP, no IPsec
// (TS 33.203), keys held in memory.
package lab
