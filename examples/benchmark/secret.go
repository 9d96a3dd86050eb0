package main

import (
	"crypto/rand"
	"encoding/hex"
)

// randomSecret returns a fresh secret for the hooks of one run.
func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
