package kmszn

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/keymgmt/kms"
)

type fakeZn struct {
	got gba.NAFID
	err error
}

func (f *fakeZn) Resolve(_ context.Context, btid string, id gba.NAFID) (*zn.NAFKey, error) {
	f.got = id
	if f.err != nil {
		return nil, f.err
	}
	return &zn.NAFKey{Key: []byte("k"), Expiry: time.Unix(10, 0), IMPI: "impi@" + btid}, nil
}

func TestResolver(t *testing.T) {
	f := &fakeZn{}
	k, err := Resolver{Zn: f}.Resolve(context.Background(), "b", "kms.example")
	if err != nil || k.IMPI != "impi@b" || !bytes.Equal(k.Key, []byte("k")) {
		t.Fatalf("got %v, %v", k, err)
	}
	// NAF_Id = FQDN ‖ 01 00 00 00 06 (TS 33.220 H.3).
	if want := append([]byte("kms.example"), 1, 0, 0, 0, 6); !bytes.Equal(f.got.Bytes(), want) {
		t.Fatalf("NAF_Id %x, want %x", f.got.Bytes(), want)
	}
	f.err = zn.ErrUnknownBTID
	if _, err := (Resolver{Zn: f}).Resolve(context.Background(), "b", "kms.example"); !errors.Is(err, kms.ErrUnknownBTID) {
		t.Fatalf("unknown B-TID: %v", err)
	}
	f.err = errors.New("down")
	if _, err := (Resolver{Zn: f}).Resolve(context.Background(), "b", "kms.example"); err == nil || errors.Is(err, kms.ErrUnknownBTID) {
		t.Fatalf("other error: %v", err)
	}
}
