// Package lab is the in-process IMS lab for the demo and the tests: one home domain with a
// registrar/proxy (package registrar: RFC 3261 §10 and §16, Digest MD5/SHA-256 per RFC 7616 and
// RFC 8760, IMS AKA per RFC 3310 and RFC 4169, RFC 3581, RFC 3608 Service-Route, RFC 3455
// P-Associated-URI, TS 24.229 §5.4.1 simplified), the test BSF of package gba/bsf (Ub per TS
// 24.109, Zn per TS 33.220 §4.5.3), one HSS/AuC (TS 33.102 §6.3, Milenage TS 35.206) behind
// both, so a UE's USIM sees a single SQN sequence, and the KMS of TS 33.328 KMS-based e2e media
// security (package keymgmt/kms: MIKEY-TICKET, RFC 6043), which is a GBA NAF of that BSF
// (TS 33.220 §4.5.3, NAF_Id = KMS FQDN ‖ 01 00 00 00 06 per Annex H.3) and starts with it.
//
// Start binds everything on loopback (UDP and TCP of the SIP core share one port) and returns
// the addresses and the per-subscriber settings a UE needs; Close stops all of it. The
// configuration comes from a Config value or from YAML (LoadConfig; testdata/lab.yaml shows
// every field).
//
// The KMS (kms.go) keeps its users (each subscriber's IMPI → IMPUs) in a memory store and, unless
// kms.policy_file names another, runs a policy that lets the subscribers protect calls with each
// other, with ticket reuse and key forking. Its replay cache (RFC 3830 §5.4) starts with its epoch
// one skew in the past, so it accepts messages at once: no message can predate the lab's BSF.
// Rate limits are off unless kms.rate_limits is set.
//
// NewUE (ue.go) gives a UE everything KMS-keyed calls need for one AKA subscriber: the software
// USIM (the same instance answers IMS AKA at the registrar and Ub at the BSF), the Ub client, the
// NAF key cache, the KMS client and the MIKEY-TICKET method for client.Config.KMS, with a Trace
// hook timing each bootstrap, ticket request and resolve.
//
// With Config.SIPTLS the registrar/proxy also listens on TLS (RFC 3261 §26.2; tls.go): Start
// generates a CA (ECDSA P-256, in memory) and a certificate for Host and Domain signed by it;
// CAPool and CACertPEM let UEs verify it, and IssueCertificate / UETLSConfig give a UE on
// transport tls the certificate the proxy verifies when it connects to the UE's Contact.
//
// The lab is for loopback testing only: plain HTTP on Ub and Zn, no IPsec (TS 33.203), keys
// and the CA's private key held in memory.
package lab
