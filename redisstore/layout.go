package redisstore

// Key layout. Every key starts with the prefix. Keys that one Lua script
// touches together share a hash tag, so the script runs on one Redis
// Cluster slot: "{g:<grant id>}" for a grant, "{c:<client id>}" for a
// client. Keys named by a hash hold the SHA-256 digest the caller passes,
// never a secret. See doc.go for the whole table.

func (s *Store) clientKey(id string) string       { return s.prefix + "{c:" + id + "}:client" }
func (s *Store) clientGrantsKey(id string) string { return s.prefix + "{c:" + id + "}:grants" }
func (s *Store) grantKey(id string) string        { return s.prefix + "{g:" + id + "}:grant" }
func (s *Store) familyKey(id string) string       { return s.prefix + "{g:" + id + "}:family" }
func (s *Store) revokedKey(id string) string      { return s.prefix + "{g:" + id + "}:revoked" }
func (s *Store) refreshKey(hash string) string    { return s.prefix + "rt:" + hash }
func (s *Store) flowKey(hash string) string       { return s.prefix + "flow:" + hash }
func (s *Store) codeKey(hash string) string       { return s.prefix + "code:" + hash }
func (s *Store) jtiKey(jti string) string         { return s.prefix + "jti:" + jti }
func (s *Store) consentKey(hash string) string    { return s.prefix + "consent:" + hash }
func (s *Store) documentKey(hash string) string   { return s.prefix + "doc:" + hash }
func (s *Store) rateKey(key string) string        { return s.prefix + "rate:" + key }
func (s *Store) keySetKey() string                { return s.prefix + "keys" }
func (s *Store) channel() string                  { return s.prefix + "revocations" }

// The fields of a code's hash: the record as JSON, the used flag, and the
// grant the code produced.
const (
	fieldRecord = "record"
	fieldUsed   = "used"
	fieldGrant  = "grant_id"
)
