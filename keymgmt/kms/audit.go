package kms

import (
	"log/slog"

	"github.com/imsphone/imsphone/keymgmt/kms/policy"
)

// AuditEvent is the one structured audit record the KMS writes for every decision on a MIKEY
// request, granted or refused (issue 5 §3). It holds identities, codes and reasons only, never key
// material: B-TIDs are identifiers (TS 33.220 §4.5.2), not secrets.
type AuditEvent struct {
	Action     string // "request", "resolve", or "unknown" when the message did not parse
	Granted    bool
	Status     int    // HTTP status sent
	ErrNo      int    // MIKEY ERR sent, -1 when none
	Reason     string // why it was refused (local only; never sent to the peer)
	Source     string // remote address
	BTID       string // IDRpsk
	IMPI       string // from Zn, once known
	Initiator  string // IDRi of the request, or the ticket's IDRi on resolve
	Responder  string // IDRr of RESOLVE_INIT
	Responders []string
	KeyID      uint32 // ticket-protection key id (issued or resolved ticket)
	Uses       uint64 // resolve count of the ticket, after this one
	// Policy is the policy engine's own record when the policy was asked.
	Policy *policy.AuditRecord
}

// LogValue makes the event a slog group.
func (e AuditEvent) LogValue() slog.Value {
	as := []slog.Attr{
		slog.String("action", e.Action), slog.Bool("granted", e.Granted), slog.Int("status", e.Status),
		slog.Int("errno", e.ErrNo), slog.String("source", e.Source),
	}
	if e.Reason != "" {
		as = append(as, slog.String("reason", e.Reason))
	}
	for _, kv := range []struct{ k, v string }{{"btid", e.BTID}, {"impi", e.IMPI}, {"initiator", e.Initiator}, {"responder", e.Responder}} {
		if kv.v != "" {
			as = append(as, slog.String(kv.k, kv.v))
		}
	}
	if len(e.Responders) > 0 {
		as = append(as, slog.Any("responders", e.Responders))
	}
	if e.KeyID != 0 {
		as = append(as, slog.Uint64("tpk_id", uint64(e.KeyID)))
	}
	if e.Uses != 0 {
		as = append(as, slog.Uint64("uses", e.Uses))
	}
	if e.Policy != nil {
		as = append(as, slog.Attr{Key: "policy", Value: e.Policy.LogValue()})
	}
	return slog.GroupValue(as...)
}
