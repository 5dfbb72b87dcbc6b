// Package cli implements the imsphone command line: the root command with its version and
// logging flags, the phone's everyday commands, the lab, and the tester tools. cmd/imsphone only hands it the process's stdin, stdout,
// stderr and arguments (Execute), so every command runs in-process in tests.
//
// Commands and the clauses they implement:
//   - aka: Milenage f1–f5, f1*, f5* and OPc (3GPP TS 35.206, checked against TS 35.208 test set
//     1); the USIM procedure of TS 33.102 §6.3.3 (AK, SQN, MAC-A check, RES, CK, IK), AUTS on a
//     synchronisation failure (§6.3.3, §6.3.5), and authentication vectors as the AuC generates
//     them (§6.3.2).
//   - mikey decode: the MIKEY wire format of RFC 3830 §6 (HDR with SRTP-ID map, KEMAC, T, ID,
//     SP, RAND, V, ERR, General Extension, key data sub-payloads) and of RFC 6043 §6 (GENERIC-ID
//     map, TR, IDR, RANDR, TP with the ticket flags D..O, TICKET with Ticket Data and Initiator
//     Data), found in SDP a=key-mgmt attributes at session and media level (RFC 4567 §3.1, §5).
//     With a key it verifies the MAC and decrypts the KEMAC through keymgmt/mikey's exchange
//     verifiers: RFC 3830 §3.1/§5.2 PSK messages, RFC 6043 §4.2.1 and §4.2.3 *_PSK exchanges,
//     and the §4.2.2 Transfer exchange keyed by MPKi.
//   - gba bootstrap: GBA_ME bootstrapping over Ub (TS 24.109 clause 4 and Annex A, TS 33.220
//     §4.5.2) with HTTP Digest AKA (RFC 3310) answered by a software USIM, AUTS resynchronisation
//     (TS 33.102 §6.3.5), and Ks_(ext)_NAF (TS 33.220 Annex B.3) for a NAF_Id with the Ua security
//     protocol identifier of Annex H (default: the KMS of TS 33.328).
//   - register, call, answer, phone (the everyday commands): an account (account.go: the YAML of
//     configs/alice.yaml, strict keys, errors naming file, line and field; secrets inline, from
//     the environment or from a file) wired to a client.Phone (ue.go): Digest (RFC 3261 §22) or
//     IMS AKA with a software USIM (RFC 3310, TS 33.203 §6.1), an outbound proxy (the P-CSCF of
//     TS 24.229 §5.1.1.1), and for security mode kms GBA over Ub (TS 33.220 §4.5.2) keying the
//     KMS client and MIKEY-TICKET (TS 33.328, RFC 6043). register binds and refreshes (RFC 3261
//     §10.2, TS 24.229 §5.1.1.4) and de-registers with Expires: 0 (§10.2.2); call sends the
//     INVITE and, on Ctrl-C before the answer, CANCEL (§9.1); DTMF goes as RFC 4733 events;
//     phone's hold and resume are re-INVITEs (RFC 3264 §8.4; client retries once after a 491 with
//     RFC 3261 §14.1's wait). Without a registrar, call and answer work peer to peer.
//   - lab: internal/lab as a process, with fixed front doors for Ub and the KMS, printing or
//     writing an account config per subscriber.
//   - --keylog: the SRTP master keys of each stream direction (client.Config.KeyLog format), for
//     decrypting captures; a warning goes to stderr whenever it is on.
//
// Secrets the user asks for are the output of aka (RES, CK, IK, AUTS are its purpose); decrypted
// MIKEY keys, Ks and Ks_NAF are printed only with --show-keys, which warns on stderr. Keys never
// go to the log or into error text.
//
// Results go to stdout as aligned text or, with --json, as one JSON object; logs (log/slog, text
// or JSON) and warnings go to stderr. Exit codes are the Exit* constants.
package cli
