package yamlconf_test

import (
	"fmt"

	"github.com/imsphone/imsphone/internal/yamlconf"
)

// A configuration parser: decode strictly within limits, then check values, naming the field
// (and through it the line) of each problem.
func Example() {
	type config struct {
		Listen string `yaml:"listen"`
		Peers  []struct {
			URI string `yaml:"uri"`
		} `yaml:"peers"`
	}
	data := []byte("listen: 127.0.0.1:5060\npeers:\n  - uri: sip:a@example.net\n  - uri: \"\"\n")
	lim := yamlconf.Limits{MaxBytes: 64 << 10, What: "a lab configuration"}

	var c config
	doc, err := yamlconf.Decode("lab.yaml", data, &c, lim)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, p := range c.Peers {
		if p.URI == "" {
			fmt.Println(doc.Errorf(fmt.Sprintf("peers.%d.uri", i), "missing"))
		}
	}
	_, err = yamlconf.Decode("lab.yaml", []byte("listen: a\nlistne: b\n"), &c, lim)
	fmt.Println(err)
	_, err = yamlconf.Decode("lab.yaml", []byte("a: &x [1]\nb: *x\n"), &c, lim)
	fmt.Println(err)
	// Output:
	// lab.yaml:4: peers.1.uri: missing
	// lab.yaml:2: field listne not found in config
	// lab.yaml:2: YAML aliases are not supported in a lab configuration (at b)
}
