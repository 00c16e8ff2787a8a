package config

import _ "embed"

//go:embed example.yaml
var example []byte

// Example is a commented config covering every section; `vigil config init`
// writes it.
func Example() []byte { return append([]byte(nil), example...) }
