// Package cli implements the imsphone command line: the root command with its version and
// logging flags, and the tester tools. cmd/imsphone only hands it the process's stdin, stdout,
// stderr and arguments (Execute), so every command runs in-process in tests.
//
// Commands and the clauses they implement:
//   - aka: Milenage f1–f5, f1*, f5* and OPc (3GPP TS 35.206, checked against TS 35.208 test set
//     1); the USIM procedure of TS 33.102 §6.3.3 (AK, SQN, MAC-A check, RES, CK, IK), AUTS on a
//     synchronisation failure (§6.3.3, §6.3.5), and authentication vectors as the AuC generates
//     them (§6.3.2).
//
// Results go to stdout as aligned text or, with --json, as one JSON object; logs (log/slog, text
// or JSON) and warnings go to stderr. Exit codes are the Exit* constants.
package cli
