//go:build malgo

package audio

import "testing"

// A headless machine has no sound card; the test then only proves the cgo build links and
// that opening fails cleanly.
func TestOpenDevice(t *testing.T) {
	d, err := OpenDevice(8000)
	if err != nil {
		t.Skipf("no sound device: %v", err)
	}
	defer d.Close()
	buf := make([]int16, 160)
	if n, err := d.Read(buf); n != 160 || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
	if err := d.Write(buf); err != nil {
		t.Fatal(err)
	}
}
