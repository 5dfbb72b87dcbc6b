package client

import (
	"fmt"
	"time"

	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/media"
)

// EventKind says what happened to a call.
type EventKind int

// Event kinds.
const (
	// EventRinging: a 180 or 183 arrived (caller; EarlyMedia when its SDP started the media),
	// or we sent 180 (callee).
	EventRinging EventKind = iota + 1
	// EventAnswered: the call is established (2xx ACKed).
	EventAnswered
	// EventMediaUp: the first authenticated media packet arrived from the peer.
	EventMediaUp
	// EventDTMF: an RFC 4733 digit arrived.
	EventDTMF
	// EventStats: a periodic statistics snapshot (Config.StatsInterval).
	EventStats
	// EventEnded: the call is over; the last event.
	EventEnded
	// EventUpdated: a re-INVITE (hold, resume) changed the session; Direction is ours now.
	EventUpdated
)

func (k EventKind) String() string {
	switch k {
	case EventRinging:
		return "ringing"
	case EventAnswered:
		return "answered"
	case EventMediaUp:
		return "media-up"
	case EventDTMF:
		return "dtmf"
	case EventStats:
		return "stats"
	case EventEnded:
		return "ended"
	case EventUpdated:
		return "updated"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Party says which side ended a call.
type Party string

// Parties.
const (
	Local  Party = "local"
	Remote Party = "remote"
)

// Event is something that happened to a call.
type Event struct {
	Kind EventKind
	Time time.Time
	// Code and Reason are the SIP status (ringing, answered, ended by a final response);
	// Warning is the Warning header's text of a refusal, if any.
	Code    int
	Reason  string
	Warning string
	// By is who ended the call (EventEnded).
	By Party
	// Suite and KeySource describe the media protection (EventMediaUp): the SRTP suite and
	// "sdes", "mikey" or "none".
	Suite, KeySource string
	// EarlyMedia (EventRinging, caller): the 18x carried SDP and its media now runs before
	// the answer (RFC 3960 §3, gateway model).
	EarlyMedia bool
	// Digit is the DTMF digit (EventDTMF).
	Digit rune
	// Direction is our media direction after a re-INVITE (EventUpdated).
	Direction sdpoa.Direction
	// Stats is a statistics snapshot (EventStats, and the final one with EventEnded).
	Stats *media.Stats
}

func (e Event) String() string {
	switch e.Kind {
	case EventEnded:
		return fmt.Sprintf("ended by %s: %d %s %s", e.By, e.Code, e.Reason, e.Warning)
	case EventMediaUp:
		return fmt.Sprintf("media up: %s (%s)", e.Suite, e.KeySource)
	case EventDTMF:
		return fmt.Sprintf("dtmf %c", e.Digit)
	}
	return fmt.Sprintf("%s %d %s", e.Kind, e.Code, e.Reason)
}
