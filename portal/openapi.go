package portal

import (
	_ "embed"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI 3 description of the API Handler serves
// (YAML), for clients, documentation and contract tests.
func OpenAPI() []byte {
	out := make([]byte, len(openapiYAML))
	copy(out, openapiYAML)
	return out
}
