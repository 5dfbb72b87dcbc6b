package mikey

import "fmt"

// KEMAC is the key data transport payload (RFC 3830 §6.2, RFC 6043 §6.2). EncrData holds the
// encrypted Key data sub-payloads (ParseKeyDataList reads them once decrypted, or directly when
// EncrAlg is NULL). In MIKEY-TICKET the MAC alg is NULL because V carries the MAC (RFC 6043 §6.10);
// in the RFC 3830 PSK init message the KEMAC is last and carries the MAC.
type KEMAC struct {
	EncrAlg  EncrAlg
	EncrData []byte
	MACAlg   MACAlg
	MAC      []byte
}

func (*KEMAC) PayloadType() PayloadType { return PayloadKEMAC }

func (k *KEMAC) parseBody(d *decoder) (err error) {
	off := d.off
	a, err := d.u8("Encr alg")
	if err != nil {
		return err
	}
	if a > uint8(EncrAESCM256) {
		return invalid(off, "KEMAC Encr alg", "unknown encryption algorithm %d", a)
	}
	k.EncrAlg = EncrAlg(a)
	if k.EncrData, err = d.lenBytes(2, "Encr data"); err != nil {
		return err
	}
	k.MACAlg, k.MAC, err = parseMAC(d)
	return err
}

func (k *KEMAC) appendBody(b []byte) ([]byte, error) { return k.appendBodyMAC(b, false) }

// appendBodyMAC encodes the KEMAC; with placeholder an empty MAC is allowed (MAC input of a message
// whose MAC is not computed yet).
func (k *KEMAC) appendBodyMAC(b []byte, placeholder bool) ([]byte, error) {
	if k.EncrAlg > EncrAESCM256 {
		return nil, marshalError("KEMAC Encr alg", "unknown encryption algorithm %d", k.EncrAlg)
	}
	b, err := appendLenBytes(append(b, byte(k.EncrAlg)), 2, k.EncrData, "KEMAC Encr data")
	if err != nil {
		return nil, err
	}
	return appendMAC(b, k.MACAlg, k.MAC, "KEMAC", placeholder)
}

// KeyData decodes the Key data sub-payloads of a KEMAC with NULL encryption (e.g. the desired
// KEMAC in a TP, RFC 6043 §6.10). Encrypted KEMACs are decrypted first (crypto code), then passed to
// ParseKeyDataList.
func (k *KEMAC) KeyData() ([]KeyData, error) {
	if k.EncrAlg != EncrNULL {
		return nil, fmt.Errorf("mikey: KEMAC Encr alg %d: key data is encrypted", k.EncrAlg)
	}
	return ParseKeyDataList(k.EncrData)
}

// String leaves out the Encr data: with NULL encryption it is the keys in clear.
func (k KEMAC) String() string {
	return fmt.Sprintf("KEMAC{EncrAlg: %d, EncrData: [%d bytes redacted], MACAlg: %d, MAC: %x}", k.EncrAlg, len(k.EncrData), k.MACAlg, k.MAC)
}

// GoString redacts as String does.
func (k KEMAC) GoString() string { return k.String() }
