package sdpoa

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Transport protocols of an RTP m-line (RFC 4566 §5.14).
const (
	ProtoAVP  = "RTP/AVP"  // RFC 3551: plain RTP
	ProtoSAVP = "RTP/SAVP" // RFC 3711 §7: SRTP
)

// Attribute is an SDP attribute line (RFC 4566 §5.13): a=Key or a=Key:Value.
type Attribute = sdp.Attribute

// ErrSDP marks malformed SDP; errors from Parse wrap it.
var ErrSDP = errors.New("malformed SDP")

// Origin is the o= line (RFC 4566 §5.2). SessionVersion grows with every new offer or answer in
// the session (RFC 3264 §8).
type Origin struct {
	Username       string
	SessionID      uint64
	SessionVersion uint64
	Address        netip.Addr
}

// Session is a session description reduced to what offer/answer needs.
type Session struct {
	Origin Origin
	// Attributes are the session-level attributes (e.g. a=key-mgmt, RFC 4567 §3.1).
	Attributes []Attribute
	Media      []Media
}

// Media is one m-line with its connection address and attributes.
type Media struct {
	Type string // "audio", "video", ...
	// Addr is the connection address (media-level c=, else session-level) and the m-line port.
	// Port 0 means the stream is rejected or disabled (RFC 3264 §5.1, §6).
	Addr  netip.AddrPort
	Proto string
	// Formats are the payload formats in m-line order, each resolved through a=rtpmap or the
	// static table (RTP protos only; Name is "" for an unknown payload type without rtpmap).
	Formats []Format
	// RawFormats are the fmt tokens of a non-RTP m-line, kept to echo them when rejecting it.
	RawFormats []string
	Ptime      int // a=ptime in ms; 0 when absent
	RTCPMux    bool
	// RTCP is the a=rtcp address (RFC 3605); invalid when absent.
	RTCP      netip.AddrPort
	Direction Direction
	// Attributes are the media-level attributes the model does not interpret (a=crypto,
	// a=key-mgmt, a=3ge2ae, ...), in order.
	Attributes []Attribute
}

// Protected reports whether the m-line uses SRTP (RTP/SAVP).
func (m *Media) Protected() bool { return strings.EqualFold(m.Proto, ProtoSAVP) }

// IsRTP reports whether the m-line carries RTP (RTP/AVP or RTP/SAVP).
func (m *Media) IsRTP() bool {
	return strings.EqualFold(m.Proto, ProtoAVP) || strings.EqualFold(m.Proto, ProtoSAVP)
}

// AttributeValues returns the values of every media-level attribute named key, in order.
func (m *Media) AttributeValues(key string) []string { return values(m.Attributes, key) }

// AttributeValues returns the values of every session-level attribute named key, in order.
func (s *Session) AttributeValues(key string) []string { return values(s.Attributes, key) }

func values(attrs []Attribute, key string) []string {
	var out []string
	for _, a := range attrs {
		if a.Key == key {
			out = append(out, a.Value)
		}
	}
	return out
}

func addrType(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		return "IP4"
	}
	return "IP6"
}

// Marshal writes the session description (RFC 4566 §5 field order, CRLF line ends).
func (s *Session) Marshal() ([]byte, error) {
	if !s.Origin.Address.IsValid() {
		return nil, fmt.Errorf("marshal SDP: origin address missing")
	}
	d := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: orDash(s.Origin.Username), SessionID: s.Origin.SessionID,
			SessionVersion: s.Origin.SessionVersion, NetworkType: "IN",
			AddressType: addrType(s.Origin.Address), UnicastAddress: s.Origin.Address.Unmap().String(),
		},
		SessionName:      "-",
		TimeDescriptions: []sdp.TimeDescription{{}},
		Attributes:       s.Attributes,
	}
	for i := range s.Media {
		md, err := s.Media[i].marshal()
		if err != nil {
			return nil, fmt.Errorf("marshal SDP m-line %d: %w", i, err)
		}
		d.MediaDescriptions = append(d.MediaDescriptions, md)
	}
	return d.Marshal()
}

func orDash(s string) string {
	if s == "" || strings.ContainsAny(s, " \r\n") {
		return "-"
	}
	return s
}

func (m *Media) marshal() (*sdp.MediaDescription, error) {
	if m.Type == "" || m.Proto == "" {
		return nil, errors.New("media type or proto missing")
	}
	addr := m.Addr.Addr()
	if !addr.IsValid() {
		if m.Addr.Port() != 0 {
			return nil, errors.New("connection address missing")
		}
		addr = netip.IPv4Unspecified()
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{Media: m.Type, Port: sdp.RangedPort{Value: int(m.Addr.Port())},
			Protos: strings.Split(m.Proto, "/")},
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType(addr),
			Address: &sdp.Address{Address: addr.Unmap().String()}},
	}
	if !m.IsRTP() {
		md.MediaName.Formats = append([]string(nil), m.RawFormats...)
		if len(md.MediaName.Formats) == 0 {
			return nil, errors.New("no formats")
		}
		md.Attributes = append(md.Attributes, m.Attributes...)
		return md, nil
	}
	if len(m.Formats) == 0 {
		return nil, errors.New("no formats")
	}
	for _, f := range m.Formats {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(f.PT)))
	}
	if m.Addr.Port() == 0 {
		// A rejected stream keeps its formats but needs no attributes (RFC 3264 §6).
		return md, nil
	}
	for _, f := range m.Formats {
		if f.Name == "" {
			continue
		}
		v := fmt.Sprintf("%d %s/%d", f.PT, f.Name, f.ClockRate)
		if f.Channels > 1 {
			v += "/" + strconv.Itoa(f.Channels)
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", v))
		if f.Fmtp != "" {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", fmt.Sprintf("%d %s", f.PT, f.Fmtp)))
		}
	}
	if m.Ptime > 0 {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("ptime", strconv.Itoa(m.Ptime)))
	}
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(m.Direction.String()))
	if m.RTCPMux {
		md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
	}
	if m.RTCP.IsValid() {
		a := m.RTCP.Addr()
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtcp",
			fmt.Sprintf("%d IN %s %s", m.RTCP.Port(), addrType(a), a.Unmap())))
	}
	md.Attributes = append(md.Attributes, m.Attributes...)
	return md, nil
}

// Parse parses a session description. Errors wrap ErrSDP and name the m-line and attribute.
func Parse(b []byte) (*Session, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSDP, err)
	}
	if d.Version != 0 {
		return nil, fmt.Errorf("%w: v=%d, want 0 (RFC 4566 §5.1)", ErrSDP, d.Version)
	}
	s := &Session{Origin: Origin{Username: d.Origin.Username, SessionID: d.Origin.SessionID,
		SessionVersion: d.Origin.SessionVersion}}
	if a, err := netip.ParseAddr(d.Origin.UnicastAddress); err == nil {
		s.Origin.Address = a
	}
	var sessAddr netip.Addr
	if d.ConnectionInformation != nil {
		a, err := connAddr(d.ConnectionInformation)
		if err != nil {
			return nil, fmt.Errorf("%w: session c= line: %v", ErrSDP, err)
		}
		sessAddr = a
	}
	s.Attributes = d.Attributes
	for i, md := range d.MediaDescriptions {
		m, err := parseMedia(md, sessAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: m-line %d (%s): %v", ErrSDP, i, md.MediaName.Media, err)
		}
		s.Media = append(s.Media, m)
	}
	return s, nil
}

func connAddr(c *sdp.ConnectionInformation) (netip.Addr, error) {
	if c.NetworkType != "IN" {
		return netip.Addr{}, fmt.Errorf("network type %q, want IN", c.NetworkType)
	}
	if c.Address == nil {
		return netip.Addr{}, errors.New("no connection address")
	}
	a, err := netip.ParseAddr(c.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("connection address %q is not an IP address", c.Address.Address)
	}
	switch {
	case c.AddressType == "IP4" && !a.Is4():
		return netip.Addr{}, fmt.Errorf("address %s is not IP4", a)
	case c.AddressType == "IP6" && !a.Is6():
		return netip.Addr{}, fmt.Errorf("address %s is not IP6", a)
	case c.AddressType != "IP4" && c.AddressType != "IP6":
		return netip.Addr{}, fmt.Errorf("address type %q", c.AddressType)
	}
	return a, nil
}

func parseMedia(md *sdp.MediaDescription, sessAddr netip.Addr) (Media, error) {
	m := Media{Type: md.MediaName.Media, Proto: strings.Join(md.MediaName.Protos, "/")}
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return m, fmt.Errorf("port %d out of range", port)
	}
	addr := sessAddr
	if md.ConnectionInformation != nil {
		a, err := connAddr(md.ConnectionInformation)
		if err != nil {
			return m, fmt.Errorf("c= line: %v", err)
		}
		addr = a
	}
	if port != 0 && !addr.IsValid() {
		return m, errors.New("no connection address (RFC 4566 §5.7)")
	}
	m.Addr = netip.AddrPortFrom(addr, uint16(port))
	if !m.IsRTP() {
		m.RawFormats = append([]string(nil), md.MediaName.Formats...)
		m.Attributes = md.Attributes
		return m, nil
	}
	idx := map[uint8]int{}
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil || pt > 127 {
			return m, fmt.Errorf("payload type %q is not 0-127", f)
		}
		if _, dup := idx[uint8(pt)]; dup {
			return m, fmt.Errorf("payload type %d listed twice", pt)
		}
		idx[uint8(pt)] = len(m.Formats)
		ff, _ := staticFormat(uint8(pt))
		ff.PT = uint8(pt)
		m.Formats = append(m.Formats, ff)
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, enc, err := splitPT(a.Value)
			if err != nil {
				return m, fmt.Errorf("a=rtpmap: %v", err)
			}
			i, ok := idx[pt]
			if !ok {
				continue // RFC 4566 §6: an rtpmap for an unlisted format is ignored
			}
			parts := strings.Split(enc, "/")
			if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
				return m, fmt.Errorf("a=rtpmap:%d: want <encoding>/<clock rate>[/<channels>]", pt)
			}
			rate, err := strconv.Atoi(parts[1])
			if err != nil || rate <= 0 {
				return m, fmt.Errorf("a=rtpmap:%d: clock rate %q", pt, parts[1])
			}
			ch := 0
			if len(parts) == 3 {
				if ch, err = strconv.Atoi(parts[2]); err != nil || ch <= 0 {
					return m, fmt.Errorf("a=rtpmap:%d: channels %q", pt, parts[2])
				}
			}
			m.Formats[i].Name, m.Formats[i].ClockRate, m.Formats[i].Channels = parts[0], rate, ch
		case "fmtp":
			pt, params, err := splitPT(a.Value)
			if err != nil {
				return m, fmt.Errorf("a=fmtp: %v", err)
			}
			if i, ok := idx[pt]; ok {
				m.Formats[i].Fmtp = params
			}
		case "ptime":
			v, err := strconv.Atoi(strings.TrimSpace(a.Value))
			if err != nil || v <= 0 || v > 1000 {
				return m, fmt.Errorf("a=ptime %q", a.Value)
			}
			m.Ptime = v
		case "rtcp-mux":
			m.RTCPMux = true
		case "rtcp":
			ap, err := parseRTCP(a.Value, addr)
			if err != nil {
				return m, fmt.Errorf("a=rtcp: %v", err)
			}
			m.RTCP = ap
		default:
			if d, ok := parseDirection(a.Key); ok && a.Value == "" {
				m.Direction = d
				continue
			}
			m.Attributes = append(m.Attributes, a)
		}
	}
	return m, nil
}

func splitPT(v string) (uint8, string, error) {
	ptS, rest, ok := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(ptS, 10, 8)
	if !ok || err != nil || pt > 127 {
		return 0, "", fmt.Errorf("%q does not start with a payload type and a space", v)
	}
	return uint8(pt), strings.TrimSpace(rest), nil
}

// parseRTCP reads RFC 3605's "port [IN IP4|IP6 addr]"; without an address the m-line's applies.
func parseRTCP(v string, def netip.Addr) (netip.AddrPort, error) {
	f := strings.Fields(v)
	if len(f) != 1 && len(f) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%q: want <port> [IN <addrtype> <address>]", v)
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("port %q", f[0])
	}
	addr := def
	if len(f) == 4 {
		a, err := connAddr(&sdp.ConnectionInformation{NetworkType: f[1], AddressType: f[2], Address: &sdp.Address{Address: f[3]}})
		if err != nil {
			return netip.AddrPort{}, err
		}
		addr = a
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
