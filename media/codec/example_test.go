package codec_test

import (
	"fmt"

	"github.com/imsphone/imsphone/media/codec"
)

// One key press as RFC 4733 telephone-events: 60 ms of '5' in 20 ms packets at 8 kHz.
func ExampleDTMFSender() {
	s := codec.NewDTMFSender(8000)
	s.Volume = 10
	if err := s.StartFor('5', 1000, 60_000_000); err != nil {
		panic(err)
	}
	rx := codec.NewDTMFReceiver()
	for !s.Idle() {
		ts, marker, payloads := s.Next(160)
		e, _ := codec.ParseEvent(payloads[0])
		d, isNew := rx.Receive(ts, e)
		fmt.Printf("ts=%d M=%v % x new=%v %q\n", ts, marker, payloads[0], isNew, d)
	}
	// Output:
	// ts=1000 M=true 05 0a 00 a0 new=true '5'
	// ts=1000 M=false 05 0a 01 40 new=false '\x00'
	// ts=1000 M=false 05 8a 01 e0 new=false '\x00'
	// ts=1000 M=false 05 8a 01 e0 new=false '\x00'
	// ts=1000 M=false 05 8a 01 e0 new=false '\x00'
}

func ExampleByName() {
	c, _ := codec.ByName("pcma")
	payload := c.Encode(nil, []int16{0, 1000, -1000})
	pcm, _ := c.Decode(nil, payload)
	fmt.Println(c.Name(), c.PayloadType(), c.ClockRate(), fmt.Sprintf("% x", payload), pcm)
	// Output: PCMA 8 8000 d5 fa 7a [8 1008 -1008]
}
