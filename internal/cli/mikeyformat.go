package cli

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// describeHDR lists every HDR field (RFC 3830 §6.1, RFC 6043 §6.1) and the CS ID map.
func describeHDR(h *mikey.HDR) *obj {
	o := &obj{}
	o.add("version", "version", uint64(h.Version)).
		add("data type", "data_type", named(dataTypeNames, h.DataType)).
		add("V (response expected)", "v", h.V).
		add("PRF func", "prf_func", named(prfNames, h.PRF)).
		add("CSB ID", "csb_id", fmt.Sprintf("%#08x", h.CSBID)).
		add("#CS", "num_cs", uint64(h.NumCS)).
		add("CS ID map type", "cs_id_map_type", named(mapTypeNames, h.CSIDMapType))
	switch h.CSIDMapType {
	case mikey.CSIDMapSRTPID:
		var es []*obj
		for i, e := range h.SRTPIDs {
			es = append(es, (&obj{}).add("CS ID", "cs_id", uint64(i+1)).add("policy no", "policy_no", uint64(e.PolicyNo)).
				add("SSRC", "ssrc", fmt.Sprintf("%#08x", e.SSRC)).add("ROC", "roc", uint64(e.ROC)))
		}
		o.add("SRTP-ID", "srtp_id_map", es)
	case mikey.CSIDMapGenericID:
		var es []*obj
		for _, e := range h.GenericIDs {
			eo := (&obj{}).add("CS ID", "cs_id", uint64(e.CSID)).
				add("Prot type", "prot_type", named(protTypeNames, e.ProtType)).
				add("S (ROC and SEQ present)", "s", e.S).
				add("#P", "num_p", uint64(len(e.PolicyNos)))
			ps := make([]string, len(e.PolicyNos))
			for i, p := range e.PolicyNos {
				ps[i] = fmt.Sprint(p)
			}
			eo.add("policy nos", "policy_nos", ps).
				add("Session Data length", "session_data_length", uint64(len(e.SessionData)))
			if e.ProtType == mikey.ProtSRTP {
				ssrc, roc, seq, ok, err := e.SRTPSession()
				switch {
				case err != nil:
					eo.add("Session Data", "session_data_error", err.Error())
				case ok:
					eo.add("SSRC", "ssrc", fmt.Sprintf("%#08x", ssrc))
					if e.S {
						eo.add("ROC", "roc", uint64(roc)).add("SEQ", "seq", uint64(seq))
					}
				}
			} else if len(e.SessionData) > 0 {
				eo.add("Session Data", "session_data", hexBytes(e.SessionData))
			}
			eo.add("SPI length", "spi_length", uint64(len(e.SPI))).add("SPI", "spi", hexBytes(e.SPI))
			es = append(es, eo)
		}
		o.add("GENERIC-ID", "generic_id_map", es)
	}
	return o
}

// describePayloads describes a payload list (message body, TP Data, Initiator Data).
func describePayloads(ps []mikey.Payload, showKeys bool) []*obj {
	out := make([]*obj, 0, len(ps))
	for _, p := range ps {
		out = append(out, describePayload(p, showKeys))
	}
	return out
}

func describePayload(p mikey.Payload, showKeys bool) *obj {
	o := (&obj{}).add("payload", "payload", enum{n: uint64(p.PayloadType()), name: p.PayloadType().String()})
	switch v := p.(type) {
	case *mikey.T:
		describeTS(o, v.TSType, v.Value, v.Time)
	case *mikey.TR:
		o.add("role", "role", named(tsRoleNames, v.Role))
		if v.Role == mikey.TSRoleR && v.TSType == mikey.TSNTPUTC32 {
			// RFC 6043 §6.10: TRr is an interval, not a point in time.
			o.add("TS type", "ts_type", named(tsTypeNames, v.TSType)).add("interval (s)", "interval_seconds", v.Value)
		} else {
			describeTS(o, v.TSType, v.Value, v.Time)
		}
	case *mikey.RAND:
		o.add("length", "length", uint64(len(v.Data))).add("RAND", "rand", hexBytes(v.Data))
	case *mikey.RANDR:
		o.add("role", "role", named(randRoleNames, v.Role)).add("length", "length", uint64(len(v.Data))).
			add("RAND", "rand", hexBytes(v.Data))
	case *mikey.ID:
		o.add("ID type", "id_type", named(idTypeNames, v.Type))
		describeIdentity(o, v.Data)
	case *mikey.IDR:
		o.add("role", "role", named(idRoleNames, v.Role)).add("ID type", "id_type", named(idTypeNames, v.Type))
		describeIdentity(o, v.Data)
	case *mikey.SP:
		o.add("policy no", "policy_no", uint64(v.PolicyNo)).add("Prot type", "prot_type", named(protTypeNames, v.ProtType))
		var ps []*obj
		for _, sp := range v.Params {
			po := &obj{}
			if v.ProtType == mikey.ProtSRTP {
				po.add("type", "type", named(spParamNames, sp.Type))
			} else {
				po.add("type", "type", uint64(sp.Type))
			}
			po.add("length", "length", uint64(len(sp.Value))).add("value", "value", hexBytes(sp.Value))
			ps = append(ps, po)
		}
		o.add("param", "params", ps)
	case *mikey.KEMAC:
		describeKEMAC(o, v, showKeys)
	case *mikey.V:
		o.add("MAC alg", "mac_alg", named(macAlgNames, v.MACAlg)).add("MAC", "mac", hexBytes(v.MAC))
	case *mikey.ERR:
		o.add("Error no", "error_no", named(errNoNames, v.ErrNo))
	case *mikey.GeneralExt:
		o.add("type", "type", named(genExtNames, v.Type)).add("length", "length", uint64(len(v.Data)))
		switch v.Type {
		case mikey.GenExtSDPIDs:
			if ids, err := v.SDPIDs(); err == nil {
				o.add("SDP IDs", "sdp_ids", ids)
				break
			}
			o.add("data", "data", hexBytes(v.Data))
		case mikey.GenExtKeyID:
			ks, err := v.KeyIDs()
			if err != nil {
				o.add("data", "data", hexBytes(v.Data)).add("Key ID error", "key_id_error", err.Error())
				break
			}
			var ko []*obj
			for _, k := range ks {
				ko = append(ko, (&obj{}).add("type", "type", uint64(k.Type)).add("ID", "id", hexBytes(k.ID)))
			}
			o.add("Key ID", "key_ids", ko)
		default:
			o.add("data", "data", hexBytes(v.Data))
		}
	case *mikey.TP:
		describeTP(o, v, showKeys)
	case *mikey.TICKET:
		o.add("Ticket Policy", "policy", describeTP(&obj{}, &v.Policy, showKeys))
		o.add("Ticket Data length", "ticket_data_length", uint64(len(v.TicketData))).
			add("Ticket Data", "ticket_data", hexBytes(v.TicketData))
		if v.Policy.TicketType == mikey.TicketMIKEYBase && v.Policy.Subtype == mikey.BaseTicketSubtype &&
			v.Policy.TicketVersion == mikey.BaseTicketVersion {
			o.add("base ticket", "base_ticket", describeBaseTicket(v.TicketData, showKeys))
		}
		o.add("Initiator Data length", "initiator_data_length", uint64(len(v.InitiatorData)))
		if len(v.InitiatorData) > 0 {
			if ps, err := mikey.ParsePayloadData(v.InitiatorData); err != nil {
				o.add("Initiator Data", "initiator_data", hexBytes(v.InitiatorData)).
					add("Initiator Data error", "initiator_data_error", err.Error())
			} else {
				o.add("Initiator Data", "initiator_data", describePayloads(ps, showKeys))
			}
		}
	case *mikey.CHASH:
		o.add("hash func", "hash_func", named(hashNames, v.HashFunc)).add("hash", "hash", hexBytes(v.Hash))
	case *mikey.CERT:
		o.add("cert type", "cert_type", named(certTypeNames, v.Type)).add("length", "length", uint64(len(v.Data))).
			add("data", "data", hexBytes(v.Data))
	case *mikey.PKE:
		o.add("C (cache indicator)", "c", uint64(v.C)).add("length", "length", uint64(len(v.Data))).
			add("data", "data", hexBytes(v.Data))
	case *mikey.DH:
		o.add("DH group", "dh_group", uint64(v.Group)).add("DH value", "dh_value", hexBytes(v.Value)).
			add("KV", "kv", named(kvTypeNames, v.KV))
		describeKV(o, v.KV, v.SPI, v.VF, v.VT)
	case *mikey.SIGN:
		o.add("S type", "s_type", uint64(v.SType)).add("length", "length", uint64(len(v.Signature))).
			add("signature", "signature", hexBytes(v.Signature))
	case *mikey.SAKKE:
		o.add("SAKKE params", "sakke_params", uint64(v.Params)).add("ID scheme", "id_scheme", uint64(v.IDScheme)).
			add("length", "length", uint64(len(v.Data))).add("data", "data", hexBytes(v.Data))
	default:
		o.add("note", "note", fmt.Sprintf("no description for %T", p))
	}
	return o
}

func describeTS(o *obj, typ mikey.TSType, value uint64, toTime func() (time.Time, error)) {
	o.add("TS type", "ts_type", named(tsTypeNames, typ))
	switch typ {
	case mikey.TSCOUNTER, mikey.TSNTPUTC32:
		o.add("TS value", "ts_value", fmt.Sprintf("%08x", uint32(value)))
	default:
		o.add("TS value", "ts_value", fmt.Sprintf("%016x", value))
	}
	if typ != mikey.TSCOUNTER {
		if t, err := toTime(); err == nil {
			o.add("time", "time", t.UTC().Format(time.RFC3339Nano))
		}
	}
}

func describeIdentity(o *obj, data []byte) {
	o.add("length", "length", uint64(len(data)))
	if utf8.Valid(data) && strings.IndexFunc(string(data), func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		o.add("data", "data", string(data))
		return
	}
	o.add("data (hex)", "data_hex", hexBytes(data))
}

func describeTP(o *obj, tp *mikey.TP, showKeys bool) *obj {
	o.add("Ticket Type", "ticket_type", named(ticketTypeNames, tp.TicketType)).
		add("Subtype", "subtype", uint64(tp.Subtype)).
		add("Version", "ticket_version", uint64(tp.TicketVersion)).
		add("PRF func", "prf_func", named(prfNames, tp.PRF)).
		add("flags", "flags", tp.Flags.String())
	var set []string
	for i, name := range []string{"D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O"} {
		if tp.Flags&(mikey.FlagD>>i) != 0 {
			set = append(set, name)
		}
	}
	o.add("flags set", "flags_set", set)
	if err := tp.Flags.Validate(); err != nil {
		o.add("flag check", "flag_error", err.Error())
	}
	o.add("TP Data", "tp_data", describePayloads(tp.Data, showKeys))
	return o
}

func describeKEMAC(o *obj, k *mikey.KEMAC, showKeys bool) {
	o.add("Encr alg", "encr_alg", named(encrAlgNames, k.EncrAlg)).
		add("Encr data length", "encr_data_length", uint64(len(k.EncrData))).
		add("MAC alg", "mac_alg", named(macAlgNames, k.MACAlg)).
		add("MAC", "mac", hexBytes(k.MAC))
	if k.EncrAlg != mikey.EncrNULL {
		return // decrypted only with a key (--psk, --mpk)
	}
	// NULL encryption: the key data is in clear (RFC 3830 §4.2.3), e.g. a desired KEMAC in a TP.
	keys, err := k.KeyData()
	if err != nil {
		o.add("Key data error", "key_data_error", err.Error())
		return
	}
	o.add("Key data", "key_data", describeKeys(keys, showKeys))
}

// describeKeys lists Key data sub-payloads (RFC 3830 §6.13, RFC 6043 §6.2.1): the key and salt
// bytes only with showKeys.
func describeKeys(keys []mikey.KeyData, showKeys bool) []*obj {
	out := []*obj{}
	for _, k := range keys {
		o := (&obj{}).add("type", "type", named(keyTypeNames, k.Type)).
			add("key length", "key_length", uint64(len(k.Key)))
		if showKeys {
			o.add("key", "key", hexBytes(k.Key))
		}
		if k.Type.HasSalt() {
			o.add("salt length", "salt_length", uint64(len(k.Salt)))
			if showKeys {
				o.add("salt", "salt", hexBytes(k.Salt))
			}
		}
		o.add("KV", "kv", named(kvTypeNames, k.KV))
		describeKV(o, k.KV, k.SPI, k.VF, k.VT)
		out = append(out, o)
	}
	return out
}

func describeKV(o *obj, kv mikey.KVType, spi, vf, vt []byte) {
	switch kv {
	case mikey.KVSPI:
		o.add("SPI length", "spi_length", uint64(len(spi))).add("SPI", "spi", hexBytes(spi))
	case mikey.KVInterval:
		o.add("Valid From", "valid_from", hexBytes(vf)).add("Valid To", "valid_to", hexBytes(vt))
	}
}

// describeBaseTicket shows the Ticket Data of a MIKEY base ticket (RFC 6043 Appendix A.1): THDR
// (A.3: Next Payload, THDR Data length, THDR Data), then T, RAND, KEMAC (encrypted with keys from
// the TPK, which only the KMS holds), [IDRpsk] and V. Data that does not have this form is
// reported, not treated as an error: the ticket is opaque to everyone but the KMS.
func describeBaseTicket(td []byte, showKeys bool) *obj {
	o := &obj{}
	if len(td) < 3 {
		return o.add("error", "error", fmt.Sprintf("THDR at offset 0: %d bytes, need 3", len(td)))
	}
	n := int(td[1])<<8 | int(td[2])
	if 3+n > len(td) {
		return o.add("error", "error", fmt.Sprintf("THDR Data length %d at offset 1 overruns the %d bytes of Ticket Data", n, len(td)))
	}
	data := td[3 : 3+n]
	o.add("THDR Data", "thdr_data", hexBytes(data))
	if len(data) == 5 && data[0] == mikey.THDRVersion {
		// This project's THDR Data: version 1 and the 32-bit id of the Ticket Protection Key.
		o.add("TPK key id", "tpk_key_id", uint64(data[1])<<24|uint64(data[2])<<16|uint64(data[3])<<8|uint64(data[4]))
	}
	ps, err := mikey.ParsePayloadData(append([]byte{td[0]}, td[3+n:]...))
	if err != nil {
		return o.add("error", "error", fmt.Sprintf("payloads after THDR (offsets from byte %d, less 1): %v", 3+n, err))
	}
	return o.add("payload", "payloads", describePayloads(ps, showKeys))
}
