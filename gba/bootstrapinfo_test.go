package gba

import (
	"strings"
	"testing"
	"time"
)

func TestParseBootstrappingInfo(t *testing.T) {
	for _, tc := range []struct {
		name, in, btid string
		lifetime       time.Time
	}{
		{"gba.md §9.2 body", chainBody, chainBTID, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		// TS 24.109 A.5 example layout (pretty-printed, a live BSF's values)
		{"A.5 pretty", `<?xml version="1.0" encoding="UTF-8"?>
<BootstrappingInfo xmlns="uri:3gpp-gba">
  <btid>fve4iTWb1rTb297CzVSrpw==@bsf.ims.mnc045.mcc123.pub.3gppnetwork.org</btid>
  <lifetime>2020-10-28T23:36:26Z</lifetime>
</BootstrappingInfo>
`, "fve4iTWb1rTb297CzVSrpw==@bsf.ims.mnc045.mcc123.pub.3gppnetwork.org", time.Date(2020, 10, 28, 23, 36, 26, 0, time.UTC)},
		// fractional seconds as sent by an Ericsson BSF; unknown elements, attributes, Extension ignored
		{"fraction+unknown", `<BootstrappingInfo xmlns="uri:3gpp-gba" foo="bar"><x:y xmlns:x="urn:other"><btid>no</btid></x:y><btid a="1">B@bsf</btid><unknown><deep/></unknown><lifetime>2013-04-22T13:10:25.559Z</lifetime><Extension><currenttime>2013-04-22T12:10:25Z</currenttime></Extension></BootstrappingInfo>`,
			"B@bsf", time.Date(2013, 4, 22, 13, 10, 25, 559000000, time.UTC)},
		{"prefixed namespace", `<g:BootstrappingInfo xmlns:g="uri:3gpp-gba"><g:lifetime>2030-01-01T02:00:00+02:00</g:lifetime><g:btid>B@bsf</g:btid></g:BootstrappingInfo>`,
			"B@bsf", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"no namespace", `<BootstrappingInfo><btid>B@bsf</btid><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>`,
			"B@bsf", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bi, err := ParseBootstrappingInfo([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if bi.BTID != tc.btid || !bi.Lifetime.Equal(tc.lifetime) || bi.Lifetime.Location() != time.UTC {
				t.Fatalf("got %q %v", bi.BTID, bi.Lifetime)
			}
			out, err := bi.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			bi2, err := ParseBootstrappingInfo(out)
			if err != nil || *bi2 != *bi {
				t.Fatalf("round trip: %+v %v", bi2, err)
			}
		})
	}
}

func TestParseBootstrappingInfoErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "no root element"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid>`, "malformed XML"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo><b/>`, "second root element <b>"},
		{`<Other xmlns="uri:3gpp-gba"/>`, "root element is <Other> at offset 0"},
		{`<BootstrappingInfo xmlns="urn:wrong"/>`, `root namespace "urn:wrong"`},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>`, "<btid> missing"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid></BootstrappingInfo>`, "<lifetime> missing"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid> </btid></BootstrappingInfo>`, "empty <btid>"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid><btid>y</btid></BootstrappingInfo>`, "duplicate <btid> at offset 54"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid><lifetime>2030-01-01T00:00:00</lifetime></BootstrappingInfo>`, "has no time zone"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid><lifetime>tomorrow</lifetime></BootstrappingInfo>`, "not an xs:dateTime"},
		{`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x<b/></btid></BootstrappingInfo>`, "element <b> inside <btid>"},
		{`junk<BootstrappingInfo/>`, "text outside the root element at offset 0"},
		{`<!DOCTYPE x [<!ENTITY a "b">]><BootstrappingInfo/>`, "unexpected directive"},
	} {
		_, err := ParseBootstrappingInfo([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBootstrappingInfo(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestMarshalBootstrappingInfoErrors(t *testing.T) {
	lt := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, bi := range []BootstrappingInfo{
		{BTID: "", Lifetime: lt},
		{BTID: " x", Lifetime: lt},
		{BTID: "x\x01", Lifetime: lt},
		{BTID: "x\xff", Lifetime: lt},
		{BTID: "x"},
		{BTID: "x", Lifetime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := bi.Marshal(); err == nil {
			t.Errorf("Marshal(%q, %v) succeeded", bi.BTID, bi.Lifetime)
		}
	}
	out, err := (&BootstrappingInfo{BTID: "a<&>\"b", Lifetime: lt.Add(1500 * time.Millisecond)}).Marshal()
	if err != nil || !strings.Contains(string(out), "a&lt;&amp;&gt;&#34;b") || !strings.Contains(string(out), "2030-01-01T00:00:01.5Z") {
		t.Errorf("Marshal = %s, %v", out, err)
	}
}
