package oauthcore

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func challengeFor(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestVerifyPKCE(t *testing.T) {
	good := strings.Repeat("a", 43)
	// RFC 7636 appendix B test vector.
	rfcVerifier, rfcChallenge := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	tests := []struct {
		name, verifier, challenge string
		ok                        bool
	}{
		{"rfc7636 vector", rfcVerifier, rfcChallenge, true},
		{"43 chars", good, challengeFor(good), true},
		{"128 chars", strings.Repeat("~", 128), challengeFor(strings.Repeat("~", 128)), true},
		{"missing", "", challengeFor(good), false},
		{"42 chars", good[:42], challengeFor(good[:42]), false},
		{"129 chars", strings.Repeat("a", 129), challengeFor(strings.Repeat("a", 129)), false},
		{"bad character", good[:42] + "!", challengeFor(good[:42] + "!"), false},
		{"wrong verifier", strings.Repeat("b", 43), challengeFor(good), false},
		{"plain challenge", good, good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifyPKCE(tt.verifier, tt.challenge); got != tt.ok {
				t.Errorf("verifyPKCE = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestValidChallenge(t *testing.T) {
	for c, ok := range map[string]bool{
		challengeFor("x"):             true,
		"abc":                         false,
		strings.Repeat("a", 42) + "=": false,
		strings.Repeat("a", 44):       false,
	} {
		if validChallenge(c) != ok {
			t.Errorf("validChallenge(%q) != %v", c, ok)
		}
	}
}

// TestHashMatches covers CL-04: secrets are compared as fixed-length
// SHA-256 digests with crypto/subtle, so the time taken does not depend on
// how much of a guess is right; this checks the comparison itself.
func TestHashMatches(t *testing.T) {
	secret := "s3cret-value-with-enough-entropy-0123456789"
	stored := HashSecret(secret)
	if len(stored) != 64 {
		t.Fatalf("digest length %d", len(stored))
	}
	for guess, ok := range map[string]bool{
		secret:                  true,
		secret[:40]:             false, // a long right prefix
		"x" + secret[1:]:        false, // right but the first byte
		"":                      false,
		secret + "x":            false,
		strings.ToUpper(secret): false,
	} {
		if hashMatches(guess, stored) != ok {
			t.Errorf("hashMatches(%q) != %v", guess, ok)
		}
	}
	if hashMatches(secret, stored[:63]) {
		t.Error("a truncated digest must not match")
	}
}
