// Command kms runs the Key Management Service of TS 33.328 KMS-based e2e media security
// (keymgmt/kms): MIKEY-TICKET Request and Resolve exchanges (RFC 6043 §4.2.1, §4.2.3) over HTTP,
// as a GBA NAF that gets Ks_NAF from the BSF over Zn (TS 33.220 §4.5.3, through internal/kmszn).
//
//	go run ./cmd/kms -config configs/kms.yaml
//
// It reads a YAML configuration (configs/kms.yaml) and the authorisation policy it names
// (configs/kms-policy.yaml, keymgmt/kms/policy); the policy's users go into the store as the
// KMS's user store. SIGHUP reloads the policy; SIGINT or SIGTERM shut down gracefully. GET
// /healthz and GET /metrics are served beside the MIKEY path; HTTPS (with HTTP/2) when tls_cert
// and tls_key are set.
//
// The store section picks the state backend (store.go): bbolt (one file, the default), memory, or
// etcd (several KMS replicas sharing one etcd cluster, keymgmt/kms/store/etcd); configs/kms.yaml
// documents the fields.
package main
