package mikey

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var (
	testTPK1 = seqBytes(0x80, 32)
	testTPK2 = seqBytes(0x30, 32)
)

func testLookup(keys map[uint32][]byte) TPKLookup {
	return func(_ context.Context, id uint32) ([]byte, error) {
		if k, ok := keys[id]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("key id %d: %w", id, ErrUnknownTPK)
	}
}

func testTicketParams(t testing.TB, keyID uint32, tpk []byte) BaseTicketParams {
	t.Helper()
	ts, err := NewT(TSNTPUTC, freshNow)
	if err != nil {
		t.Fatal(err)
	}
	return BaseTicketParams{
		Policy: TP{PRF: PRFHMACSHA256, Flags: FlagD | FlagE | FlagF | FlagG | FlagH | FlagJ,
			Data: []Payload{&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")}}},
		KeyID: keyID, TPK: tpk, T: ts,
		// RAND is drawn first: d0..df; then no MPK is drawn since MPK is given.
		Rand: bytes.NewReader(seqBytes(0xd0, 16)),
		MPK:  seqBytes(0xc0, 16),
		Keys: []KeyData{{Type: KeyTGK, KV: KVSPI, Key: seqBytes(0, 16), SPI: []byte{0, 0, 0, 1}}},
	}
}

func createTicket(t testing.TB, p BaseTicketParams) *TICKET {
	t.Helper()
	tk, err := CreateBaseTicket(p)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestBaseTicketRoundTrip(t *testing.T) {
	ctx := context.Background()
	p := testTicketParams(t, 7, testTPK1)
	p.IDRpsk = &IDR{Role: IDRolePSK, Type: IDTypeByteString, Data: []byte("kms-tpk-7")}
	tk := createTicket(t, p)
	if tk.Policy.TicketType != TicketMIKEYBase || tk.Policy.Subtype != 1 || tk.Policy.TicketVersion != 1 || len(tk.InitiatorData) != 0 {
		t.Fatalf("policy %+v", tk.Policy)
	}
	// Through the wire: a message carrying the TICKET, encoded and parsed again.
	m := &Message{HDR: HDR{DataType: DataTypeRequestResp, PRF: PRFHMACSHA256, CSBID: 1, CSIDMapType: CSIDMapEmpty},
		Payloads: []Payload{p.T, tk}}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenBaseTicket(ctx, pm.TICKET(), testLookup(map[uint32][]byte{7: testTPK1}))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyID != 7 || !bytes.Equal(c.MPK, p.MPK) || !bytes.Equal(c.RAND, seqBytes(0xd0, 16)) || c.T != *p.T ||
		len(c.Keys) != 1 || !bytes.Equal(c.Keys[0].Key, seqBytes(0, 16)) || !bytes.Equal(c.Keys[0].SPI, []byte{0, 0, 0, 1}) ||
		c.IDRpsk == nil || string(c.IDRpsk.Data) != "kms-tpk-7" || c.Policy.Flags != p.Policy.Flags {
		t.Fatalf("contents %v", c)
	}
	// MPK split (RFC 6043 A.2.2) with PRF-HMAC-SHA-256, MPK c0..cf, RAND d0..df: digest §8.2 values,
	// checked there by a second implementation.
	if hex.EncodeToString(c.MPKi) != "aafd72f028c8723179e4ded5a89ef95f" || hex.EncodeToString(c.MPKr) != "69e4d602ef12c8af3cf3d4672dfa0293" {
		t.Errorf("MPKi %x MPKr %x", c.MPKi, c.MPKr)
	}
	if k := c.TicketKeys(); len(k.MPKr) != 0 || !bytes.Equal(k.MPKi, c.MPKi) || len(k.Keys) != 1 {
		t.Errorf("TicketKeys without forking: %v", k)
	}
}

// The ticket's protection recomputed from RFC 6043 A.1/A.2.1 with crypto/hmac and crypto/aes only:
// keys = PRF(TPK, const || 0xFF || 0xFFFFFFFF || 0x05 || 0x10 || RAND), MAC over the TICKET payload
// body minus Initiator Data length and MAC, KEMAC = AES-CM with IV = (salt XOR (0x0000 ||
// 0xFFFFFFFF || T)) || 0x0000 over hand-written key data.
func TestBaseTicketIndependent(t *testing.T) {
	p := testTicketParams(t, 7, testTPK1)
	tk := createTicket(t, p)
	rnd := hex.EncodeToString(seqBytes(0xd0, 16))
	auth := hmacPRF1(t, true, testTPK1, unhex(t, "2d22ac75 ff ffffffff 05 10"+rnd), 32)
	encr := hmacPRF1(t, true, testTPK1, unhex(t, "150533e1 ff ffffffff 05 10"+rnd), 16)
	salt := hmacPRF1(t, true, testTPK1, unhex(t, "29b88916 ff ffffffff 05 10"+rnd), 14)

	body, err := tk.appendBody(nil)
	if err != nil {
		t.Fatal(err)
	}
	// body = policy | TicketDataLen | TicketData (... V: 00 02 MAC[32]) | InitiatorDataLen 0000
	if !bytes.Equal(body[len(body)-2:], []byte{0, 0}) {
		t.Fatalf("Initiator Data present: %x", body[len(body)-2:])
	}
	macEnd := len(body) - 2
	mac := hmac.New(sha256.New, auth)
	mac.Write(body[:macEnd-32])
	if want := mac.Sum(nil); !bytes.Equal(body[macEnd-32:macEnd], want) {
		t.Fatalf("V MAC %x, want %x", body[macEnd-32:macEnd], want)
	}
	// Ticket Data = THDR(05: 01 00000007) T(NTP-UTC) RAND KEMAC V.
	td := tk.TicketData
	tv := make([]byte, 8)
	binary.BigEndian.PutUint64(tv, p.T.Value)
	prefix := unhex(t, "05 0005 01 00000007 | 0b 00"+hex.EncodeToString(tv)+"| 01 10"+rnd+"| 09 01")
	if !bytes.HasPrefix(td, prefix) {
		t.Fatalf("Ticket Data %x does not begin with %x", td, prefix)
	}
	kemac := td[len(prefix):]
	n := int(binary.BigEndian.Uint16(kemac[:2]))
	encData := kemac[2 : 2+n]
	if !bytes.Equal(kemac[2+n:], append([]byte{0 /* KEMAC MAC alg NULL */, 0 /* V: Next Payload Last */, 2 /* HMAC-SHA-256-256 */}, td[len(td)-32:]...)) {
		t.Fatalf("after the KEMAC: %x", kemac[2+n:])
	}
	var iv [16]byte
	copy(iv[:], salt)
	for i, b := range append([]byte{0, 0, 0xff, 0xff, 0xff, 0xff}, tv...) {
		iv[i] ^= b
	}
	block, _ := aes.NewCipher(encr)
	plain := make([]byte, len(encData))
	cipher.NewCTR(block, iv[:]).XORKeyStream(plain, encData)
	want := unhex(t, "14 60 0010"+hex.EncodeToString(seqBytes(0xc0, 16))+"| 00 01 0010"+hex.EncodeToString(seqBytes(0, 16))+"04 00000001")
	if !bytes.Equal(plain, want) {
		t.Fatalf("KEMAC plaintext %x, want %x", plain, want)
	}
}

func wantTicketErr(t testing.TB, err error, n ErrNo) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.ErrNo != n {
		t.Fatalf("error %v, want *ProtocolError with ErrNo %d", err, n)
	}
}

func TestBaseTicketKeyRotation(t *testing.T) {
	ctx := context.Background()
	tk1 := createTicket(t, testTicketParams(t, 1, testTPK1))
	tk2 := createTicket(t, testTicketParams(t, 2, testTPK2))
	both := testLookup(map[uint32][]byte{1: testTPK1, 2: testTPK2})
	for _, tk := range []*TICKET{tk1, tk2} {
		if _, err := OpenBaseTicket(ctx, tk, both); err != nil {
			t.Fatal(err)
		}
	}
	// Key 1 retired: its tickets are refused as unknown, key 2's still open.
	rotated := testLookup(map[uint32][]byte{2: testTPK2})
	_, err := OpenBaseTicket(ctx, tk1, rotated)
	wantTicketErr(t, err, ErrAuthFailure)
	if !errors.Is(err, ErrUnknownTPK) {
		t.Fatalf("retired key: %v", err)
	}
	if _, err := OpenBaseTicket(ctx, tk2, rotated); err != nil {
		t.Fatal(err)
	}
	// The wrong TPK under the right id: the MAC fails.
	_, err = OpenBaseTicket(ctx, tk1, testLookup(map[uint32][]byte{1: testTPK2}))
	wantTicketErr(t, err, ErrAuthFailure)
	if _, err := OpenBaseTicket(ctx, tk1, nil); err == nil {
		t.Fatal("opened without a lookup")
	}
	// A key store failure is not a protocol error.
	storeErr := errors.New("store down")
	_, err = OpenBaseTicket(ctx, tk1, func(context.Context, uint32) ([]byte, error) { return nil, storeErr })
	var pe *ProtocolError
	if !errors.Is(err, storeErr) || errors.As(err, &pe) {
		t.Fatalf("store failure: %v", err)
	}
}

// Every single flipped bit of the TICKET payload (everything after its Next Payload, which RFC 6043
// A.1 leaves to the carrying message's MAC) makes parsing or verification fail.
func TestBaseTicketEveryBitFlip(t *testing.T) {
	ctx := context.Background()
	p := testTicketParams(t, 9, testTPK1)
	p.IDRpsk = &IDR{Role: IDRolePSK, Type: IDTypeByteString, Data: []byte("k9")}
	tk := createTicket(t, p)
	body, err := tk.appendBody(nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := testLookup(map[uint32][]byte{9: testTPK1, 9 ^ 1<<20: testTPK1})
	open := func(b []byte) error {
		got := new(TICKET)
		d := &decoder{b: b, end: len(b)}
		if err := got.parseBody(d); err != nil {
			return err
		}
		if d.off != d.end {
			return errors.New("trailing bytes")
		}
		_, err := OpenBaseTicket(ctx, got, lookup)
		return err
	}
	if err := open(body); err != nil {
		t.Fatalf("unmodified ticket: %v", err)
	}
	counts := map[string]int{}
	for i := 0; i < len(body)*8; i++ {
		b := bytes.Clone(body)
		b[i/8] ^= 0x80 >> (i % 8)
		err := open(b)
		if err == nil {
			t.Fatalf("bit %d (byte %d) flipped: ticket still opens", i, i/8)
		}
		var pe *ProtocolError
		switch {
		case errors.As(err, &pe):
			counts[fmt.Sprintf("ErrNo %d", pe.ErrNo)]++
		default:
			counts["parse"]++
		}
	}
	t.Logf("%d bits flipped, outcomes %v", len(body)*8, counts)
}

func TestCreateBaseTicketRefusals(t *testing.T) {
	for name, mod := range map[string]func(*BaseTicketParams){
		"flags": func(p *BaseTicketParams) { p.Policy.Flags = FlagG },
		"I with TGK, no F": func(p *BaseTicketParams) {
			p.Policy.Flags = FlagD | FlagE | FlagH | FlagI
		},
		"key without SPI":    func(p *BaseTicketParams) { p.Keys[0].KV, p.Keys[0].SPI = KVNull, nil },
		"MPK as session key": func(p *BaseTicketParams) { p.Keys[0].Type = KeyMPK },
		"no TPK":             func(p *BaseTicketParams) { p.TPK = nil },
		"no T":               func(p *BaseTicketParams) { p.T = nil },
		"ticket type 2":      func(p *BaseTicketParams) { p.Policy.TicketType = Ticket3GPPBase },
		"IDRpsk role":        func(p *BaseTicketParams) { p.IDRpsk = &IDR{Role: IDRoleI, Data: []byte("x")} },
		"AES-KW":             func(p *BaseTicketParams) { p.EncrAlg = EncrAESKW128 },
		"no randomness":      func(p *BaseTicketParams) { p.Rand = bytes.NewReader(nil) },
		"PRF 5":              func(p *BaseTicketParams) { p.Policy.PRF = 5 },
	} {
		p := testTicketParams(t, 1, testTPK1)
		mod(&p)
		if _, err := CreateBaseTicket(p); err == nil {
			t.Errorf("%s: created", name)
		}
	}
}

func TestOpenBaseTicketRefusals(t *testing.T) {
	ctx := context.Background()
	lookup := testLookup(map[uint32][]byte{1: testTPK1})
	good := createTicket(t, testTicketParams(t, 1, testTPK1))
	mod := func(f func(*TICKET)) *TICKET {
		tk := *good
		tk.TicketData = bytes.Clone(good.TicketData)
		f(&tk)
		return &tk
	}
	for _, c := range []struct {
		name string
		tk   *TICKET
		no   ErrNo
	}{
		{"nil", nil, ErrInvalidTICKET},
		{"3GPP type", mod(func(tk *TICKET) { tk.Policy.TicketType = Ticket3GPPBase }), ErrInvalidTICKET},
		{"subtype", mod(func(tk *TICKET) { tk.Policy.Subtype = 2 }), ErrInvalidTICKET},
		{"empty data", mod(func(tk *TICKET) { tk.TicketData = nil }), ErrInvalidTICKET},
		{"THDR only", mod(func(tk *TICKET) { tk.TicketData = []byte{0, 0, 5, 1, 0, 0, 0, 1} }), ErrInvalidTICKET},
		{"foreign THDR", mod(func(tk *TICKET) { tk.TicketData[3] = 2 }), ErrInvalidTICKET},
		{"truncated", mod(func(tk *TICKET) { tk.TicketData = tk.TicketData[:len(tk.TicketData)-1] }), ErrInvalidTICKET},
		{"trailing", mod(func(tk *TICKET) { tk.TicketData = append(tk.TicketData, 0) }), ErrInvalidTICKET},
		{"flipped MAC", mod(func(tk *TICKET) { tk.TicketData[len(tk.TicketData)-1] ^= 1 }), ErrAuthFailure},
		{"flags changed", mod(func(tk *TICKET) { tk.Policy.Flags |= FlagI }), ErrAuthFailure},
		{"initiator data is outside the MAC", mod(func(tk *TICKET) { tk.InitiatorData = []byte{0} }), 255},
	} {
		_, err := OpenBaseTicket(ctx, c.tk, lookup)
		if c.no == 255 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.ErrNo != c.no {
			t.Errorf("%s: %v, want ErrNo %d", c.name, err, c.no)
		}
	}
}

func TestBaseTicketForkingAndValidity(t *testing.T) {
	ctx := context.Background()
	p := testTicketParams(t, 1, testTPK1)
	p.Policy.Flags = FlagD | FlagE | FlagF | FlagG | FlagH | FlagI
	start, end := freshNow.Add(-time.Hour), freshNow.Add(time.Hour)
	s, _ := TimeToNTP64(start)
	e, _ := TimeToNTP64(end)
	p.Policy.Data = append([]Payload{&TR{Role: TSRoleS, TSType: TSNTPUTC, Value: s}, &TR{Role: TSRoleE, TSType: TSNTPUTC, Value: e}}, p.Policy.Data...)
	p.MPK = nil
	p.Rand = bytes.NewReader(seqBytes(0, 16+DefaultMPKLen))
	tk := createTicket(t, p)
	c, err := OpenBaseTicket(ctx, tk, testLookup(map[uint32][]byte{1: testTPK1}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.MPK, seqBytes(16, DefaultMPKLen)) {
		t.Errorf("drawn MPK %x", c.MPK)
	}
	if k := c.TicketKeys(); !bytes.Equal(k.MPKr, c.MPKr) || len(k.MPKr) != DefaultMPKLen {
		t.Errorf("forking TicketKeys lack MPKr")
	}
	for _, c2 := range []struct {
		at time.Time
		ok bool
	}{{freshNow, true}, {start, true}, {end, true}, {start.Add(-time.Second), false}, {end.Add(time.Second), false}} {
		err := c.Valid(c2.at)
		if (err == nil) != c2.ok {
			t.Errorf("Valid(%v) = %v", c2.at, err)
		}
	}
	// Redaction.
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("ticket", "contents", *c)
	for _, s := range []string{fmt.Sprint(*c), fmt.Sprintf("%#v", *c), logBuf.String()} {
		if strings.Contains(s, hex.EncodeToString(c.MPK)) || strings.Contains(s, fmt.Sprint(c.MPK)) ||
			strings.Contains(s, fmt.Sprint(c.Keys[0].Key)) {
			t.Errorf("key printed: %s", s)
		}
	}
}

// FuzzOpenBaseTicket feeds TICKET payload bodies to the open path. It must never panic, refuse only
// with a *ProtocolError, and open only tickets whose MAC-covered bytes are those of a ticket we made.
func FuzzOpenBaseTicket(f *testing.F) {
	var seeds [][]byte
	for i, mod := range []func(*BaseTicketParams){
		func(*BaseTicketParams) {},
		func(p *BaseTicketParams) { p.IDRpsk = &IDR{Role: IDRolePSK, Type: IDTypeByteString, Data: []byte("k")} },
		func(p *BaseTicketParams) { p.EncrAlg, p.MACAlg = EncrAESCM256, MACHMACSHA1160 },
		func(p *BaseTicketParams) { p.Policy.PRF = PRFMIKEY1; p.T = &T{TSType: TSCOUNTER, Value: 5} },
	} {
		p := testTicketParams(f, uint32(i), testTPK1)
		mod(&p)
		tk := createTicket(f, p)
		b, err := tk.appendBody(nil)
		if err != nil {
			f.Fatal(err)
		}
		ma := p.MACAlg
		if ma == MACNULL {
			ma = MACHMACSHA256256
		}
		in, err := baseTicketMACInput(tk, MACLen(ma))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, in)
		f.Add(b)
	}
	f.Add([]byte{0, 1, 1, 1, 2, 0, 0, 0, 1, 0, 0, 8, 0, 0, 5, 1, 0, 0, 0, 1, 0, 0})
	lookup := testLookup(map[uint32][]byte{0: testTPK1, 1: testTPK1, 2: testTPK1, 3: testTPK1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tk := new(TICKET)
		d := &decoder{b: b, end: len(b)}
		if tk.parseBody(d) != nil {
			return
		}
		c, err := OpenBaseTicket(context.Background(), tk, lookup)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("refusal is not a ProtocolError: %v", err)
			}
			return
		}
		for _, ml := range []int{MACLen(MACHMACSHA256256), MACLen(MACHMACSHA1160)} {
			in, err := baseTicketMACInput(tk, ml)
			if err != nil {
				continue
			}
			for _, s := range seeds {
				if bytes.Equal(in, s) {
					return
				}
			}
		}
		t.Fatalf("forged ticket opened: %v", c)
	})
}

func BenchmarkCreateBaseTicket(b *testing.B) {
	p := testTicketParams(b, 1, testTPK1)
	rnd := seqBytes(0, 16)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Rand = bytes.NewReader(rnd)
		if _, err := CreateBaseTicket(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenBaseTicket(b *testing.B) {
	ctx := context.Background()
	tk := createTicket(b, testTicketParams(b, 1, testTPK1))
	lookup := testLookup(map[uint32][]byte{1: testTPK1})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := OpenBaseTicket(ctx, tk, lookup); err != nil {
			b.Fatal(err)
		}
	}
}

// resealBaseTicket recomputes the V MAC of a base ticket after a test changed it, as a TPK holder could.
func resealBaseTicket(t testing.TB, tk *TICKET, tpk []byte) {
	t.Helper()
	rnd := tk.TicketData[3+thdrDataLen+1+1+8+2 : 3+thdrDataLen+1+1+8+2+16] // THDR, T (NTP-UTC), RAND NP+len
	label, err := TPKLabel(rnd)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := DeriveMessageKeys(tk.Policy.PRF, tpk, label, EncrAESCM128, MACHMACSHA256256)
	if err != nil {
		t.Fatal(err)
	}
	in, err := baseTicketMACInput(tk, 32)
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := ComputeMAC(MACHMACSHA256256, keys.Auth, in)
	copy(tk.TicketData[len(tk.TicketData)-32:], mac)
}

// Policy rules are checked after the MAC too: a TPK holder cannot issue a ticket whose flags break
// RFC 6043 §6.10.
func TestOpenBaseTicketPolicyRules(t *testing.T) {
	ctx := context.Background()
	lookup := testLookup(map[uint32][]byte{1: testTPK1})
	tk := createTicket(t, testTicketParams(t, 1, testTPK1))
	resealBaseTicket(t, tk, testTPK1)
	if _, err := OpenBaseTicket(ctx, tk, lookup); err != nil {
		t.Fatalf("resealed unchanged ticket: %v", err)
	}
	for name, flags := range map[string]TicketFlags{
		"G without F":        FlagD | FlagE | FlagG | FlagH,
		"I with a TGK, no F": FlagD | FlagE | FlagH | FlagI,
		"NOT D without L":    FlagE | FlagF | FlagG | FlagH,
	} {
		tk := createTicket(t, testTicketParams(t, 1, testTPK1))
		tk.Policy.Flags = flags
		resealBaseTicket(t, tk, testTPK1)
		_, err := OpenBaseTicket(ctx, tk, lookup)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.ErrNo != ErrInvalidTPpar {
			t.Errorf("%s: %v, want Invalid TPpar", name, err)
		}
	}
}

// A KMS issues a base ticket under TPK id 7 and later, after rotating to TPK id 8, still resolves
// it: the THDR names the key.
func ExampleOpenBaseTicket() {
	tpks := map[uint32][]byte{7: bytes.Repeat([]byte{7}, 32), 8: bytes.Repeat([]byte{8}, 32)}
	ts, _ := NewT(TSNTPUTC, time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC))
	tk, err := CreateBaseTicket(BaseTicketParams{
		Policy: TP{PRF: PRFHMACSHA256, Flags: FlagD | FlagE | FlagF | FlagG | FlagH,
			Data: []Payload{&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")}}},
		KeyID: 7, TPK: tpks[7], T: ts,
		Rand: bytes.NewReader(make([]byte, 64)), // crypto/rand.Reader in real use
		Keys: []KeyData{{Type: KeyTGK, KV: KVSPI, Key: make([]byte, 16), SPI: []byte{0, 0, 0, 1}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	lookup := func(_ context.Context, id uint32) ([]byte, error) {
		if k, ok := tpks[id]; ok {
			return k, nil
		}
		return nil, ErrUnknownTPK
	}
	c, err := OpenBaseTicket(context.Background(), tk, lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.KeyID, c.Policy.Flags, len(c.MPKi), len(c.Keys))
	// Output: 7 DEFGH------- 32 1
}
