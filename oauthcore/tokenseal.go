package oauthcore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// TokenKey is one key that encrypts users' GitHub tokens at rest (AES-256-
// GCM), kept in the store's key set next to the signing keys and rotated
// with them; a retired key stays while grants sealed with it can live.
type TokenKey struct {
	ID        string    `json:"kid"`
	Key       []byte    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// sealer encrypts GitHub tokens for the store (CD-10: never stored in
// the clear). With jwt_secret the key is derived from it with HKDF, so
// every instance with the same secret has it; otherwise the keys come
// from the keyring (the store).
type sealer struct {
	static []byte // HKDF(jwt_secret), or nil
	keys   *keyring
	rand   io.Reader
}

const staticTokenKID = "hkdf"

func newSealer(jwtSecret []byte, keys *keyring, rand io.Reader) (*sealer, error) {
	s := &sealer{keys: keys, rand: rand}
	if len(jwtSecret) > 0 {
		k, err := hkdf.Key(sha256.New, jwtSecret, nil, "mcp_oauth github token encryption v1", 32)
		if err != nil {
			return nil, err
		}
		s.static = k
	}
	return s, nil
}

// key returns the key to seal with (kid "" for the newest) or to open.
func (s *sealer) key(ctx context.Context, kid string) (string, []byte, error) {
	if s.static != nil {
		if kid != "" && kid != staticTokenKID {
			return "", nil, errors.New("github token sealed with an unknown key")
		}
		return staticTokenKID, s.static, nil
	}
	if s.keys == nil {
		return "", nil, errors.New("no token encryption key")
	}
	v := s.keys.cur.Load()
	if v != nil && kid != "" && v.tokenKeys[kid] == nil {
		// Another instance rotated since our last sync: reload once.
		if err := s.keys.reload(ctx); err != nil {
			return "", nil, err
		}
		v = s.keys.cur.Load()
	}
	if v == nil || v.tokenKID == "" {
		return "", nil, errors.New("token encryption keys not loaded")
	}
	if kid == "" {
		kid = v.tokenKID
	}
	k := v.tokenKeys[kid]
	if k == nil {
		return "", nil, errors.New("github token sealed with a key that no longer exists")
	}
	return kid, k, nil
}

// sealed is the stored form: the key id and nonce||ciphertext.
type sealed struct {
	KID  string `json:"kid"`
	Data string `json:"data"`
}

// seal encrypts t, bound to aad (the grant or code it belongs to), so a
// ciphertext moved to another record does not open.
func (s *sealer) seal(ctx context.Context, t *GitHubToken, aad string) ([]byte, error) {
	if t == nil {
		return nil, nil
	}
	kid, key, err := s.key(ctx, "")
	if err != nil {
		return nil, err
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	plain, _ := json.Marshal(t)
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, err
	}
	ct := aead.Seal(nonce, nonce, plain, []byte("mcp_oauth github token\x00"+aad))
	return json.Marshal(sealed{KID: kid, Data: base64.RawStdEncoding.EncodeToString(ct)})
}

// open decrypts what seal produced for aad; nil data is no token.
func (s *sealer) open(ctx context.Context, data []byte, aad string) (*GitHubToken, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var sv sealed
	if err := json.Unmarshal(data, &sv); err != nil {
		return nil, errors.New("sealed github token: malformed")
	}
	ct, err := base64.RawStdEncoding.DecodeString(sv.Data)
	if err != nil {
		return nil, errors.New("sealed github token: malformed")
	}
	_, key, err := s.key(ctx, sv.KID)
	if err != nil {
		return nil, err
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(ct) < aead.NonceSize() {
		return nil, errors.New("sealed github token: too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, ct[:n], ct[n:], []byte("mcp_oauth github token\x00"+aad))
	if err != nil {
		return nil, errors.New("sealed github token: does not open")
	}
	var t GitHubToken
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, errors.New("sealed github token: malformed")
	}
	return &t, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
