package oauthcore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// keyring holds the ES256 keys in memory. The set is read without locks on
// every verification and replaced as a whole when the store's set changes.
type keyring struct {
	store    KeyStore
	now      func() time.Time
	rand     io.Reader
	rotation time.Duration
	// retain is how long a retired key stays published: the lifetime of the
	// last token it signed plus clock leeway.
	retain time.Duration
	// tokenRetain is how long a retired token-encryption key is kept: the
	// longest a grant sealed with it can live without being sealed again
	// (every refresh seals with the newest key).
	tokenRetain time.Duration
	cur         atomic.Pointer[keyView]
}

type keyView struct {
	version int
	keys    []signer // oldest first
	pub     map[string]*ecdsa.PublicKey
	jwks    []byte
	// tokenKeys are the GitHub-token encryption keys by id; tokenKID is
	// the newest, which seals.
	tokenKeys map[string][]byte
	tokenKID  string
}

// signer is a key and the time it may start signing (zero: at once).
type signer struct {
	kid  string
	key  *ecdsa.PrivateKey
	from time.Time
}

// signing returns the newest key allowed to sign at now. Keys published
// ahead of their activation only verify until then.
func (v *keyView) signing(now time.Time) signer {
	for i := len(v.keys) - 1; i > 0; i-- {
		if !now.Before(v.keys[i].from) {
			return v.keys[i]
		}
	}
	return v.keys[0]
}

// sync loads the stored set, creating or rotating the signing key when due.
// Every instance may race here; the store's compare-and-swap picks one
// winner and the others adopt its set.
func (k *keyring) sync(ctx context.Context) error {
	for attempt := 0; attempt < 5; attempt++ {
		ks, err := k.store.LoadKeys(ctx)
		if errors.Is(err, ErrNotFound) {
			ks, err = &KeySet{}, nil
		}
		if err != nil {
			return err
		}
		next, changed, err := k.rotate(ks)
		if err != nil {
			return err
		}
		if changed {
			err = k.store.SaveKeys(ctx, next)
			if errors.Is(err, ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
		}
		return k.install(next)
	}
	return errors.New("signing keys: too many concurrent updates")
}

// keyActivationDelay is how long a new key is published before it signs:
// longer than the period at which every instance sharing the store syncs
// its keys (a minute), so no gate meets a kid it does not know yet.
const keyActivationDelay = 3 * time.Minute

// rotate returns the set with a new key when the newest one is older than
// the rotation period (the first key signs at once, later ones after
// keyActivationDelay), minus keys retired for longer than retain. A key is
// retired when a newer key starts signing.
func (k *keyring) rotate(ks *KeySet) (*KeySet, bool, error) {
	now := k.now()
	next := &KeySet{Version: ks.Version + 1}
	changed := false
	for i, key := range ks.Keys {
		if key.RetiredAt.IsZero() && i+1 < len(ks.Keys) && active(ks.Keys[i+1], now) {
			key.RetiredAt, changed = ks.Keys[i+1].ActivateAt, true
		}
		if !key.RetiredAt.IsZero() && now.Sub(key.RetiredAt) > k.retain {
			changed = true
			continue
		}
		next.Keys = append(next.Keys, key)
	}
	tokenChanged, err := k.rotateTokenKeys(ks, next, now)
	if err != nil {
		return nil, false, err
	}
	changed = changed || tokenChanged
	n := len(next.Keys)
	if n > 0 && now.Sub(next.Keys[n-1].CreatedAt) < k.rotation {
		return next, changed, nil
	}
	key, err := k.generate(now)
	if err != nil {
		return nil, false, err
	}
	if n > 0 {
		key.ActivateAt = now.Add(keyActivationDelay)
	}
	next.Keys = append(next.Keys, key)
	return next, true, nil
}

// rotateTokenKeys carries the token-encryption keys of ks into next:
// the newest seals, older ones are retired and dropped after
// tokenRetain, and a new key is made every rotation period.
func (k *keyring) rotateTokenKeys(ks, next *KeySet, now time.Time) (bool, error) {
	changed := false
	for i, key := range ks.TokenKeys {
		if key.RetiredAt.IsZero() && i+1 < len(ks.TokenKeys) {
			key.RetiredAt, changed = ks.TokenKeys[i+1].CreatedAt, true
		}
		if !key.RetiredAt.IsZero() && now.Sub(key.RetiredAt) > k.tokenRetain {
			changed = true
			continue
		}
		next.TokenKeys = append(next.TokenKeys, key)
	}
	n := len(next.TokenKeys)
	if n > 0 && now.Sub(next.TokenKeys[n-1].CreatedAt) < k.rotation {
		return changed, nil
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(k.rand, raw); err != nil {
		return false, err
	}
	sum := sha256.Sum256(raw)
	kid := "t" + base64.RawURLEncoding.EncodeToString(sum[:9])
	next.TokenKeys = append(next.TokenKeys, TokenKey{ID: kid, Key: raw, CreatedAt: now})
	return true, nil
}

// reload installs the stored set as it is now (a key another instance
// made since the last sync).
func (k *keyring) reload(ctx context.Context) error {
	ks, err := k.store.LoadKeys(ctx)
	if err != nil {
		return unavailable(err)
	}
	return k.install(ks)
}

// active reports whether key may sign at now.
func active(key SigningKey, now time.Time) bool {
	return key.ActivateAt.IsZero() || !now.Before(key.ActivateAt)
}

func (k *keyring) generate(now time.Time) (SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), k.rand)
	if err != nil {
		return SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, err
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	sum := sha256.Sum256(pubDER)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	return SigningKey{ID: kid, Algorithm: "ES256", PrivateDER: der, CreatedAt: now}, nil
}

// install parses ks and makes it the set used for signing and verifying.
func (k *keyring) install(ks *KeySet) error {
	if cur := k.cur.Load(); cur != nil && cur.version == ks.Version {
		return nil
	}
	v := &keyView{version: ks.Version, pub: map[string]*ecdsa.PublicKey{}, tokenKeys: map[string][]byte{}}
	for _, tk := range ks.TokenKeys {
		v.tokenKeys[tk.ID], v.tokenKID = tk.Key, tk.ID
	}
	var jwks []map[string]string
	for _, key := range ks.Keys {
		parsed, err := x509.ParsePKCS8PrivateKey(key.PrivateDER)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", key.ID, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok {
			return fmt.Errorf("signing key %s is not an ECDSA key", key.ID)
		}
		v.pub[key.ID] = &priv.PublicKey
		v.keys = append(v.keys, signer{kid: key.ID, key: priv, from: key.ActivateAt})
		jwks = append(jwks, ecJWK(key.ID, &priv.PublicKey))
	}
	if len(v.keys) == 0 {
		return errors.New("no signing key")
	}
	v.jwks, _ = json.Marshal(map[string]any{"keys": jwks})
	k.cur.Store(v)
	return nil
}

func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]string {
	b, _ := pub.Bytes() // uncompressed point: 0x04 || X || Y
	size := (len(b) - 1) / 2
	return map[string]string{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
		"x": base64.RawURLEncoding.EncodeToString(b[1 : 1+size]),
		"y": base64.RawURLEncoding.EncodeToString(b[1+size:]),
	}
}
