// Package storetest is the conformance suite every oauthcore.Store must pass.
//
// The server's security rests on store semantics the interfaces can only
// name: a code is consumed once, a flow completed once, a refresh rotation
// wins once, a revoked grant stays revoked, and expired records are gone.
// Run checks these with real concurrency and real (short) expiry times, so a
// new backend (bbolt, Redis) is trusted by passing the same tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) oauthcore.Store { return openEmpty(t) })
//	}
//
// Revocation announcements (oauthcore.RevocationNotifier) are part of every
// store, and so is Dumper (a test-only view of everything stored):
// through it the suite proves no plain secret is stored.
package storetest
