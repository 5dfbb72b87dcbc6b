package mikey

// CHASH is the certificate hash payload (RFC 3830 §6.8, RFC 6043 §6.7). Only PK variants use it.
type CHASH struct {
	HashFunc HashFunc
	Hash     []byte
}

// Hash functions of RFC 3830 Table 6.8 (SHA-256 is HashSHA256 in constants.go).
const (
	HashSHA1 HashFunc = 0
	HashMD5  HashFunc = 1
)

// HashLen is the hash length in bytes of a CHASH hash function, or -1 if it is unknown.
func HashLen(h HashFunc) int {
	switch h {
	case HashSHA1:
		return 20
	case HashMD5:
		return 16
	case HashSHA256:
		return 32
	}
	return -1
}

func (*CHASH) PayloadType() PayloadType { return PayloadCHASH }

func (c *CHASH) parseBody(d *decoder) error {
	off := d.off
	h, err := d.u8("Hash func")
	if err != nil {
		return err
	}
	n := HashLen(HashFunc(h))
	if n < 0 {
		return d.invalid(off, "Hash func", "unknown hash function %d", h)
	}
	c.HashFunc = HashFunc(h)
	c.Hash, err = d.bytes(n, "Hash")
	return err
}

func (c *CHASH) appendBody(b []byte) ([]byte, error) {
	n := HashLen(c.HashFunc)
	if n < 0 {
		return nil, marshalError("CHASH Hash func", "unknown hash function %d", c.HashFunc)
	}
	if len(c.Hash) != n {
		return nil, marshalError("CHASH Hash", "%d bytes, hash func %d needs %d", len(c.Hash), c.HashFunc, n)
	}
	return append(append(b, byte(c.HashFunc)), c.Hash...), nil
}
