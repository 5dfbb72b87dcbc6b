package mikey

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
)

// prfChunkLen is the inkey chunk size of the MIKEY PRF: 256 bits, half the input block size of
// SHA-1 (RFC 3830 §4.1.2). RFC 6043 §6.1 keeps the 256-bit split for PRF-HMAC-SHA-256 and only
// replaces the hash and the output block size (160 → 256 bits).
const prfChunkLen = 32

// prfHash returns the HMAC hash of a PRF func (RFC 3830 §4.1.2, RFC 6043 §6.1).
func prfHash(f PRFFunc) (func() hash.Hash, error) {
	switch f {
	case PRFMIKEY1:
		return sha1.New, nil
	case PRFHMACSHA256:
		return sha256.New, nil
	}
	return nil, fmt.Errorf("mikey: PRF func %d not supported", uint8(f))
}

// PRF returns the outLen most significant bytes of PRF(inkey, label) of RFC 3830 §4.1.2 with the
// hash of f: MIKEY-1 (HMAC-SHA-1) or PRF-HMAC-SHA-256 (RFC 6043 §6.1).
//
// The inkey is split into n = ceil(len/32) chunks s_1..s_n, all 32 bytes except possibly s_n, and
// the P-function outputs of the chunks are XORed. A 32- or 64-byte inkey therefore has one or two
// full chunks; an implementation that computes the last chunk's length as len%32 (minisip) derives
// with an empty last chunk instead and is wrong for 256-bit keys such as Ks_NAF.
func PRF(f PRFFunc, inkey, label []byte, outLen int) ([]byte, error) {
	out := make([]byte, outLen)
	if err := prfInto(f, out, inkey, label); err != nil {
		return nil, err
	}
	return out, nil
}

// prfInto writes PRF(inkey, label) into out (len(out) bytes of it).
func prfInto(f PRFFunc, out, inkey, label []byte) error {
	var st prfState
	if err := st.init(f, inkey); err != nil {
		return err
	}
	st.into(out, label)
	return nil
}

// prfState holds one keyed HMAC per 256-bit inkey chunk, so that several keys derived from one
// inkey (encr, salt and auth keys) share the HMAC key setup.
type prfState struct {
	inline [2]hash.Hash // room for inkeys up to 512 bits without another allocation
	macs   []hash.Hash
}

func (st *prfState) init(f PRFFunc, inkey []byte) error {
	newHash, err := prfHash(f)
	if err != nil {
		return err
	}
	if len(inkey) == 0 {
		// n = ceil(0/256) = 0 chunks: the PRF is undefined, and a zero-length key is never valid.
		return fmt.Errorf("mikey: PRF inkey is empty")
	}
	st.macs = st.inline[:0]
	for off := 0; off < len(inkey); off += prfChunkLen {
		st.macs = append(st.macs, hmac.New(newHash, inkey[off:min(off+prfChunkLen, len(inkey))]))
	}
	return nil
}

// into writes PRF(inkey, label) = P(s_1, label, m) XOR ... XOR P(s_n, label, m) into out.
func (st *prfState) into(out, label []byte) {
	clear(out)
	if len(out) == 0 {
		return
	}
	for _, mac := range st.macs {
		pXOR(mac, label, out)
	}
}

// pXOR XORs P(s, label, m) into out, with m = ceil(len(out)/hashLen) and mac keyed with s
// (RFC 3830 §4.1.2):
//
//	P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label),
//	A_0 = label, A_i = HMAC(s, A_(i-1)).
func pXOR(mac hash.Hash, label, out []byte) {
	size := mac.Size()
	var aBuf, blkBuf [sha256.Size]byte
	a := label // A_0
	for done := 0; done < len(out); done += size {
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(aBuf[:0]) // A_i
		mac.Reset()
		mac.Write(a)
		mac.Write(label)
		blk := mac.Sum(blkBuf[:0])
		n := min(size, len(out)-done)
		for j := 0; j < n; j++ {
			out[done+j] ^= blk[j]
		}
	}
}
