package mikey_test

import (
	"encoding/base64"
	"fmt"

	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// Decoding the MIKEY answer of RFC 4567 §5.1 from its a=key-mgmt line.
func ExampleParseMessage() {
	b, _ := base64.StdEncoding.DecodeString("AQEFgM0XflABAAAAAAAAAAAAAAYAyONQ6gAAAAAJAAAQbWlja2V5QG1vdXNlLmNvbQABn8HdGE5BMDXFIuGEga+62AgY5cc=")
	m, err := mikey.ParseMessage(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m)
	fmt.Printf("T %#x, ID %s, MAC alg %d\n", m.T().Value, m.ID()[0].Data, m.V().MACAlg)
	// Output:
	// MIKEY{data type 1, CSB ID 0xcd177e50, #CS 1, map 0, payloads [T ID V], 71 raw bytes}
	// T 0xc8e350ea00000000, ID mickey@mouse.com, MAC alg 1
}

// Building an Error message (RFC 6043 §4: HDR, T, ERR, V), taking its MAC input before the MAC
// exists, then encoding it. By hand: HDR 01 06 05 01 1a2b3c4d 00 01, T 0c 03 eb2f6a4c,
// ERR 09 0e 0000, V 00 02, then the 32 MAC bytes.
func ExampleMessage_MACInput() {
	m := &mikey.Message{
		HDR: mikey.HDR{Version: mikey.Version, DataType: mikey.DataTypeError, PRF: mikey.PRFHMACSHA256,
			CSBID: 0x1a2b3c4d, CSIDMapType: mikey.CSIDMapEmpty},
		Payloads: []mikey.Payload{
			&mikey.T{TSType: mikey.TSNTPUTC32, Value: 0xeb2f6a4c},
			&mikey.ERR{ErrNo: mikey.ErrInvalidTICKET},
			&mikey.V{MACAlg: mikey.MACHMACSHA256256}, // MAC filled in below
		},
	}
	in, _ := m.MACInput(false)
	fmt.Printf("MAC input %x\n", in)
	m.Payloads[2].(*mikey.V).MAC = make([]byte, 32) // e.g. HMAC-SHA-256(auth_key, in)
	b, err := m.Marshal()
	fmt.Println(len(b), err)
	// Output:
	// MAC input 010605011a2b3c4d00010c03eb2f6a4c090e00000002
	// 54 <nil>
}

// Ticket flags must satisfy the implications of RFC 6043 §6.10.
func ExampleTicketFlags_Validate() {
	f := mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH
	fmt.Println(f, f.Validate())
	fmt.Println((mikey.FlagD | mikey.FlagG).Validate() != nil)
	// Output:
	// DEF-H------- <nil>
	// true
}
