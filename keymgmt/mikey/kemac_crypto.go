package mikey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// errKeyWrapIntegrity is returned when an AES-KW unwrap fails its integrity check (RFC 3394 §2.2.3).
var errKeyWrapIntegrity = errors.New("mikey: AES key wrap integrity check failed")

// KEMACIV returns the AES-CM IV of RFC 3830 §4.2.3:
//
//	IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000
//
// with S the 112-bit salt_key and T the 64-bit timestamp (a 32-bit NTP-UTC-32 value with a zero
// fraction, a COUNTER left-padded with zeros: T.IV64). RFC 3830 names the Initiator's timestamp;
// MIKEY-TICKET responses carry their own T, and this package feeds the T of the message that carries
// the KEMAC (digest §4.4). The base ticket uses its own T and CSB ID 0xFFFFFFFF (RFC 6043 A.1).
func KEMACIV(salt []byte, csbID uint32, t uint64) ([aes.BlockSize]byte, error) {
	var iv [aes.BlockSize]byte
	if len(salt) != 14 {
		return iv, fmt.Errorf("mikey: AES-CM salt_key is %d bytes, want 14", len(salt))
	}
	binary.BigEndian.PutUint32(iv[2:6], csbID)
	binary.BigEndian.PutUint64(iv[6:14], t)
	subtle.XORBytes(iv[:14], iv[:14], salt)
	return iv, nil
}

// EncryptKeyData encrypts the Key data sub-payloads of a KEMAC (the Encr data field, RFC 3830
// §6.2) with keys.EncrAlg: NULL, AES-CM-128, AES-CM-256 (RFC 3830 §4.2.3, RFC 6043 §6.2) or
// AES-KW-128 (RFC 3394 with the 64-bit salt_key as IV). csbID and t feed the AES-CM IV.
func EncryptKeyData(keys MessageKeys, csbID uint32, t uint64, plaintext []byte) ([]byte, error) {
	switch keys.EncrAlg {
	case EncrNULL:
		return append([]byte(nil), plaintext...), nil
	case EncrAESCM128, EncrAESCM256:
		out := make([]byte, len(plaintext))
		if err := aesCM(keys, csbID, t, out, plaintext); err != nil {
			return nil, err
		}
		return out, nil
	case EncrAESKW128:
		if err := checkKWKeys(keys); err != nil {
			return nil, err
		}
		return aesKeyWrap(keys.Encr, keys.Salt, plaintext)
	}
	return nil, fmt.Errorf("mikey: KEMAC encryption algorithm %d not supported", uint8(keys.EncrAlg))
}

// DecryptKeyData reverses EncryptKeyData. For AES-KW a failed integrity check is an error; for
// AES-CM and NULL only the MAC (V or KEMAC MAC) protects the data, so verify it first.
func DecryptKeyData(keys MessageKeys, csbID uint32, t uint64, encr []byte) ([]byte, error) {
	switch keys.EncrAlg {
	case EncrNULL:
		return append([]byte(nil), encr...), nil
	case EncrAESCM128, EncrAESCM256:
		out := make([]byte, len(encr))
		if err := aesCM(keys, csbID, t, out, encr); err != nil {
			return nil, err
		}
		return out, nil
	case EncrAESKW128:
		if err := checkKWKeys(keys); err != nil {
			return nil, err
		}
		return aesKeyUnwrap(keys.Encr, keys.Salt, encr)
	}
	return nil, fmt.Errorf("mikey: KEMAC encryption algorithm %d not supported", uint8(keys.EncrAlg))
}

// aesCM is the SRTP AES counter mode of RFC 3711 §4.1.1 with SRTP_PREFIX_LENGTH 0: keystream block
// i is AES(encr_key, IV + i), IV + i taken modulo 2^128, which is what cipher.NewCTR computes.
// RFC 3830 §4.2.3 notes the 16-bit block counter limits the data to 2^23 bits.
func aesCM(keys MessageKeys, csbID uint32, t uint64, dst, src []byte) error {
	want := 16
	if keys.EncrAlg == EncrAESCM256 {
		want = 32
	}
	if len(keys.Encr) != want {
		return fmt.Errorf("mikey: AES-CM encr_key is %d bytes, algorithm %d needs %d", len(keys.Encr), uint8(keys.EncrAlg), want)
	}
	if len(src) > 1<<20 {
		return fmt.Errorf("mikey: %d bytes exceed the AES-CM limit of 2^23 bits (RFC 3830 §4.2.3)", len(src))
	}
	iv, err := KEMACIV(keys.Salt, csbID, t)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(keys.Encr)
	if err != nil {
		return err
	}
	cipher.NewCTR(block, iv[:]).XORKeyStream(dst, src)
	return nil
}

func checkKWKeys(keys MessageKeys) error {
	if len(keys.Encr) != 16 {
		return fmt.Errorf("mikey: AES-KW-128 encr_key is %d bytes, want 16", len(keys.Encr))
	}
	if len(keys.Salt) != 8 {
		return fmt.Errorf("mikey: AES-KW-128 IV (salt_key) is %d bytes, want 8 (RFC 3830 §4.2.3)", len(keys.Salt))
	}
	return nil
}

// aesKeyWrap is the key wrap of RFC 3394 §2.2.1 (index-based form) with initial value iv.
func aesKeyWrap(kek, iv, plaintext []byte) ([]byte, error) {
	if len(plaintext)%8 != 0 || len(plaintext) < 16 {
		return nil, fmt.Errorf("mikey: AES key wrap input is %d bytes, want a multiple of 8 and at least 16 (RFC 3394 §2)", len(plaintext))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(plaintext) / 8
	out := make([]byte, 8+len(plaintext))
	copy(out[:8], iv)
	copy(out[8:], plaintext)
	var b [16]byte
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(b[:8], out[:8])
			copy(b[8:], out[8*i:8*i+8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:8*i+8], b[8:])
		}
	}
	return out, nil
}

// aesKeyUnwrap is the key unwrap of RFC 3394 §2.2.2 with the integrity check of §2.2.3 against iv,
// compared in constant time.
func aesKeyUnwrap(kek, iv, ciphertext []byte) ([]byte, error) {
	if len(ciphertext)%8 != 0 || len(ciphertext) < 24 {
		return nil, fmt.Errorf("mikey: AES key wrap data is %d bytes, want a multiple of 8 and at least 24 (RFC 3394 §2)", len(ciphertext))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(ciphertext)/8 - 1
	var a [8]byte
	copy(a[:], ciphertext[:8])
	r := make([]byte, 8*n)
	copy(r, ciphertext[8:])
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(b[8:], r[8*(i-1):8*i])
			block.Decrypt(b[:], b[:])
			copy(a[:], b[:8])
			copy(r[8*(i-1):8*i], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:], iv) != 1 {
		clear(r)
		return nil, errKeyWrapIntegrity
	}
	return r, nil
}
