package oauthcore

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
)

// secretBytes is the entropy of every code, token, secret, state and id we
// issue: 256 bits (OAuth 2.1 §7.7 asks for at least 128).
const secretBytes = 32

// HashSecret is how bearer secrets are kept at rest: a SHA-256 hex digest.
// The secrets are 256-bit random values, so a fast hash is enough and a slow
// one would only hand attackers a CPU lever on open endpoints.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// hashMatches compares a presented secret with a stored digest in constant
// time (both sides are fixed-length digests).
func hashMatches(secret, storedHash string) bool {
	got := HashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1
}

// newSecret returns prefix plus 256 random bits in unpadded base64url.
func newSecret(r io.Reader, prefix string) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}
