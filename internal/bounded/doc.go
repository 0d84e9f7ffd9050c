// Package bounded keeps small caches of derived values bounded against
// keys an attacker chooses: the gate's per-Host gates (caddymodule) and
// the ForwardAuth endpoint's per-resource gates and parsed queries
// (oauthcore). A Map stops taking new keys at its Max and never evicts, so
// past the bound a value is rebuilt per request instead of growing memory.
// Its count of entries never passes Max, so no number of distinct keys
// can wrap it and lift the bound.
package bounded
