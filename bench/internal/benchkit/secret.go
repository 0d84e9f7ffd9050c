package benchkit

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// NewSecret returns n random bytes, base64url-encoded.
func NewSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// JWTAlg reads the alg of a JWT's header, to prove which keys signed it.
func JWTAlg(token string) string {
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.Alg
}
