// Command bsf runs the test BSF of package gba/bsf with its HSS/AuC simulator:
//
//   - Ub for UEs: HTTP Digest AKA bootstrapping per TS 24.109 clause 4 and Annex A (BootstrappingInfo
//     body per Annex C), TS 33.220 §4.5.2; SQN handling per TS 33.102 Annex C;
//   - Zn for NAFs such as the KMS: Ks_NAF by B-TID per TS 33.220 §4.5.3, over HTTP/JSON modelled on
//     TS 29.309 Nbsp_GBA, with bearer-token or mutual-TLS caller authentication;
//   - GET /healthz and GET /metrics (text counters) on both listeners.
//
// Usage:
//
//	bsf -config configs/bsf.yaml [-log-level debug|info|warn|error] [-log-format text|json]
//
// The YAML format is that of bsf.FileConfig; configs/bsf.yaml shows every field. The daemon logs
// "bsf listening" with the address of each endpoint and stops gracefully on SIGINT or SIGTERM,
// exiting 0.
package main
