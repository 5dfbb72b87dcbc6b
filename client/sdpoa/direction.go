package sdpoa

import "fmt"

// Direction is a media stream's direction attribute (RFC 3264 §5.1, RFC 4566 §6), seen from the
// side that wrote the SDP.
type Direction int

// Directions. The zero value is SendRecv, the default when no attribute is present (RFC 4566 §6).
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Mirror is the direction an answerer writes for an offered direction (RFC 3264 §6.1): what the
// offerer only sends we only receive.
func (d Direction) Mirror() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Intersect narrows d to what other also allows: both sides must agree to send for media to
// flow one way (RFC 3264 §6.1: the answerer may narrow the mirrored direction).
func (d Direction) Intersect(other Direction) Direction {
	send := d.Sends() && other.Sends()
	recv := d.Receives() && other.Receives()
	return directionOf(send, recv)
}

// Sends reports whether the side that wrote d sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side that wrote d receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

func directionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

func parseDirection(key string) (Direction, bool) {
	switch key {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}
