package mikey

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Cross-check of the encoder against an independent decoder: Wireshark's MIKEY dissector
// (epan/dissectors/packet-mikey.c) in tshark 4.0. Messages are written to a classic pcap file as
// UDP datagrams on 127.0.0.1 port 2269 (the MIKEY port, IANA) and decoded with
// `tshark -d udp.port==2269,mikey -T pdml`. Expected field values are taken from the Go structs, not
// from our encoding. tshark 4.0 knows RFC 3830 and IDR but not the RFC 6043 data types, map types
// 1 and 2, PRF 1, TR, RANDR, TP or TICKET: for those messages only the HDR is compared, and the
// dissector must stop without a malformed mark.

const tsharkPort = 2269

// writePcap writes a classic libpcap file (magic a1b2c3d4, version 2.4, LINKTYPE_ETHERNET) with one
// Ethernet/IPv4/UDP frame per payload, 127.0.0.1 to 127.0.0.1.
func writePcap(path string, payloads [][]byte) error {
	le := binary.LittleEndian
	var f []byte
	f = le.AppendUint32(f, 0xa1b2c3d4)
	f = le.AppendUint16(f, 2)
	f = le.AppendUint16(f, 4)
	f = le.AppendUint32(f, 0)     // thiszone
	f = le.AppendUint32(f, 0)     // sigfigs
	f = le.AppendUint32(f, 65535) // snaplen
	f = le.AppendUint32(f, 1)     // LINKTYPE_ETHERNET
	for i, p := range payloads {
		udp := binary.BigEndian.AppendUint16(nil, tsharkPort)
		udp = binary.BigEndian.AppendUint16(udp, tsharkPort)
		udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(p)))
		udp = append(binary.BigEndian.AppendUint16(udp, 0), p...) // checksum 0: none (RFC 768)
		ip := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		var sum uint32
		for j := 0; j < 20; j += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[j:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		frame := append(append(make([]byte, 12), 0x08, 0x00), ip...) // zero MACs, EtherType IPv4
		frame = append(frame, udp...)
		f = le.AppendUint32(f, uint32(1000+i)) // ts_sec
		f = le.AppendUint32(f, 0)              // ts_usec
		f = le.AppendUint32(f, uint32(len(frame)))
		f = le.AppendUint32(f, uint32(len(frame)))
		f = append(f, frame...)
	}
	return os.WriteFile(path, f, 0o644)
}

type pdmlNode struct {
	Name   string     `xml:"name,attr"`
	Show   string     `xml:"show,attr"`
	Value  string     `xml:"value,attr"`
	Fields []pdmlNode `xml:"field"`
	Protos []pdmlNode `xml:"proto"`
}

type pdmlDoc struct {
	Packets []struct {
		Protos []pdmlNode `xml:"proto"`
	} `xml:"packet"`
}

// tsharkPacket is one decoded frame: field name to values (the hex "value" attribute, or "show"
// where tshark gives no value), in order.
type tsharkPacket map[string][]string

func (p tsharkPacket) walk(n pdmlNode) {
	v := n.Value
	if v == "" {
		v = n.Show
	}
	p[n.Name] = append(p[n.Name], v)
	for _, c := range n.Protos {
		p.walk(c)
	}
	for _, c := range n.Fields {
		p.walk(c)
	}
}

// malformed reports the fields that mark a dissection problem.
func (p tsharkPacket) malformed() []string {
	var out []string
	for name := range p {
		if strings.HasPrefix(name, "_ws.malformed") || strings.HasPrefix(name, "_ws.expert") {
			out = append(out, name)
		}
	}
	return out
}

func runTshark(t *testing.T, msgs [][]byte) []tsharkPacket {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("IMSPHONE_REQUIRE_PEERS") == "1" {
			t.Fatalf("tshark not found and IMSPHONE_REQUIRE_PEERS=1: %v", err)
		}
		t.Skipf("tshark not installed: %v", err)
	}
	path := filepath.Join(t.TempDir(), "mikey.pcap")
	if err := writePcap(path, msgs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-n", "-r", path, "-d", fmt.Sprintf("udp.port==%d,mikey", tsharkPort), "-T", "pdml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	var doc pdmlDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("PDML: %v", err)
	}
	if len(doc.Packets) != len(msgs) {
		t.Fatalf("tshark decoded %d packets, want %d", len(doc.Packets), len(msgs))
	}
	pkts := make([]tsharkPacket, len(doc.Packets))
	for i, pk := range doc.Packets {
		pkts[i] = tsharkPacket{}
		for _, pr := range pk.Protos {
			pkts[i].walk(pr)
		}
		if len(pkts[i]["mikey"]) == 0 {
			t.Fatalf("packet %d: no MIKEY layer", i)
		}
	}
	return pkts
}

func h8(v uint8) string        { return fmt.Sprintf("%02x", v) }
func h16(v int) string         { return fmt.Sprintf("%04x", v) }
func h32(v uint32) string      { return fmt.Sprintf("%08x", v) }
func hb(b []byte) string       { return fmt.Sprintf("%x", b) }
func dec(v int) string         { return fmt.Sprintf("%d", v) }
func boolBit(v bool) string    { return map[bool]string{false: "0", true: "1"}[v] }
func prfShow(p PRFFunc) string { return dec(int(p)) }

// expectHDR lists the HDR fields as packet-mikey.c names them.
func expectHDR(m *Message) map[string][]string {
	h := m.HDR
	e := map[string][]string{
		"mikey.version":        {h8(1)},
		"mikey.type":           {h8(uint8(h.DataType))},
		"mikey.v.set":          {boolBit(h.V)},
		"mikey.prf_func":       {prfShow(h.PRF)},
		"mikey.csb_id":         {h32(h.CSBID)},
		"mikey.cs_count":       {h8(h.NumCS)},
		"mikey.cs_id_map_type": {h8(uint8(h.CSIDMapType))},
	}
	for _, s := range h.SRTPIDs {
		e["mikey.srtp_id.policy_no"] = append(e["mikey.srtp_id.policy_no"], h8(s.PolicyNo))
		e["mikey.srtp_id.ssrc"] = append(e["mikey.srtp_id.ssrc"], h32(s.SSRC))
		e["mikey.srtp_id.roc"] = append(e["mikey.srtp_id.roc"], h32(s.ROC))
	}
	return e
}

// expectRFC3830 adds the fields of the payloads tshark decodes fully.
func expectRFC3830(t *testing.T, m *Message) map[string][]string {
	e := expectHDR(m)
	add := func(k string, v ...string) { e[k] = append(e[k], v...) }
	add("mikey.next_payload", h8(uint8(firstType(m.Payloads))))
	for i, p := range m.Payloads {
		next := PayloadLast
		if i+1 < len(m.Payloads) {
			next = m.Payloads[i+1].PayloadType()
		}
		if p.PayloadType() != PayloadSIGN { // SIGN has no Next Payload (RFC 3830 §6.5)
			add("mikey.next_payload", h8(uint8(next)))
		}
		switch p := p.(type) {
		case *T:
			add("mikey.t.ts_type", h8(uint8(p.TSType)))
			add("mikey.t.ntp", fmt.Sprintf("%016x", p.Value))
		case *RAND:
			add("mikey.rand.len", h8(uint8(len(p.Data))))
			add("mikey.rand.data", hb(p.Data))
		case *ID:
			add("mikey.id.type", h8(uint8(p.Type)))
			add("mikey.id.len", h16(len(p.Data)))
			add("mikey.id.data", hb(p.Data))
		case *IDR:
			add("mikey.id.role", h8(uint8(p.Role)))
			add("mikey.id.type", h8(uint8(p.Type)))
			add("mikey.id.len", h16(len(p.Data)))
			add("mikey.id.data", hb(p.Data))
		case *SP:
			add("mikey.sp.no", h8(p.PolicyNo))
			add("mikey.sp.proto_type", h8(uint8(p.ProtType)))
			n := 0
			for _, q := range p.Params {
				n += 2 + len(q.Value)
				add("mikey.sp.param.type", h8(uint8(q.Type)))
				add("mikey.sp.param.len", h8(uint8(len(q.Value))))
				add("sp value", hb(q.Value))
			}
			add("mikey.sp.param_len", h16(n))
		case *KEMAC:
			add("mikey.kemac.encr_alg", h8(uint8(p.EncrAlg)))
			add("mikey.kemac.key_data_len", h16(len(p.EncrData)))
			add("mikey.kemac.key_data", hb(p.EncrData))
			add("mikey.kemac.mac_alg", h8(uint8(p.MACAlg)))
			add("mikey.kemac.mac", hb(p.MAC))
		case *SAKKE:
			add("mikey.sakke.params", h8(p.Params))
			add("mikey.sakke.idscheme", h8(p.IDScheme))
			add("mikey.sakke.len", h16(len(p.Data)))
			add("mikey.sakke.data", hb(p.Data))
		case *SIGN:
			add("mikey.sign.data", hb(p.Signature))
		case *V:
			add("mikey.v.auth_alg", h8(uint8(p.MACAlg)))
			add("mikey.v.ver_data", hb(p.MAC))
		default:
			t.Fatalf("no tshark expectation for %v", p.PayloadType())
		}
	}
	return e
}

func compareTshark(t *testing.T, name string, got tsharkPacket, want map[string][]string) {
	t.Helper()
	// packet-mikey.c spells the SP value field "mikey.sp.patam.value" in 4.0; accept either.
	got["sp value"] = append(append([]string(nil), got["mikey.sp.patam.value"]...), got["mikey.sp.param.value"]...)
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: tshark %s = %q, want %q", name, k, got[k], w)
		}
	}
	if bad := got.malformed(); len(bad) > 0 {
		t.Errorf("%s: tshark marks the packet: %v", name, bad)
	}
}

func TestTsharkDecodesOurMessages(t *testing.T) {
	psk := samplePSKInit() // HDR (SRTP-ID), T, RAND, ID, ID, SP (all 13 SRTP params), KEMAC (AES-CM, HMAC-SHA-1)
	offer, err := ParseMessage(wireB64(t, rfc4567Offer))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := ParseMessage(wireB64(t, rfc4567Answer))
	if err != nil {
		t.Fatal(err)
	}
	ticketMsgs := []namedSample{
		{"TRANSFER_INIT", sampleTransferInit},
		{"REQUEST_INIT_PSK", sampleRequestInitPSK},
		{"RESOLVE_INIT_PSK", sampleResolveInitPSK},
		{"REQUEST_RESP", sampleRequestResp},
	}
	// The same with IDRi and IDRr (RFC 6043 §6.6), which tshark 4.0 decodes.
	pskIDR := samplePSKInit()
	pskIDR.Payloads[2] = &IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.org")}
	pskIDR.Payloads[3] = &IDR{Role: IDRoleR, Type: IDTypeNAI, Data: []byte("bob@example.org")}
	pskIDRBytes, err := pskIDR.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// An RFC 6509 MIKEY-SAKKE I_MESSAGE layout (HDR, T, RAND, IDRi, SAKKE, SIGN), decoded only.
	sakke := &Message{HDR: HDR{Version: 1, DataType: DataTypeSAKKE, CSBID: 0x0badcafe, CSIDMapType: CSIDMapSRTPID,
		NumCS: 1, SRTPIDs: []SRTPIDEntry{{PolicyNo: 1, SSRC: 2, ROC: 3}}},
		Payloads: []Payload{&T{TSType: TSNTPUTC, Value: 0xeb2f6a4c00000000}, &RAND{Data: wireSeq(1, 16)},
			&IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("tel:+15555550100")},
			&SAKKE{Params: 1, IDScheme: 1, Data: wireSeq(0, 273)}, &SIGN{SType: 2, Signature: wireSeq(0x40, 129)}}}
	sakkeBytes, err := sakke.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	msgs := [][]byte{sampleBytes(t, namedSample{"PSK init", samplePSKInit}), offer.Raw, answer.Raw, pskIDRBytes, sakkeBytes}
	for _, s := range ticketMsgs {
		msgs = append(msgs, sampleBytes(t, s))
	}
	// Negative control: a truncated message must be marked, or the checks above prove nothing.
	msgs = append(msgs, msgs[0][:len(msgs[0])-5])

	pkts := runTshark(t, msgs)
	compareTshark(t, "RFC 3830 PSK init", pkts[0], expectRFC3830(t, psk))
	compareTshark(t, "RFC 4567 offer", pkts[1], expectRFC3830(t, offer))
	compareTshark(t, "RFC 4567 answer", pkts[2], expectRFC3830(t, answer))
	compareTshark(t, "RFC 3830 PSK init with IDR", pkts[3], expectRFC3830(t, pskIDR))
	compareTshark(t, "RFC 6509 SAKKE I_MESSAGE", pkts[4], expectRFC3830(t, sakke))
	for i, s := range ticketMsgs {
		m := s.msg()
		want := expectHDR(m)
		// The HDR's Next Payload is the first field tshark reads after the fixed header.
		got := pkts[5+i]
		if np := got["mikey.next_payload"]; len(np) == 0 || np[0] != h8(uint8(firstType(m.Payloads))) {
			t.Errorf("%s: tshark HDR next payload %q", s.name, np)
		}
		compareTshark(t, s.name, got, want)
	}
	if len(pkts[len(pkts)-1].malformed()) == 0 {
		t.Error("negative control: tshark did not mark a truncated message as malformed")
	}
}
