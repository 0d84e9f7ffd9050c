package cimd

import (
	"net/http"
	"strings"
	"time"
)

// Lifetime bounds (issue 9): a document is cached at least MinLifetime, so
// that a burst of flows costs its host one fetch, and at most the
// configured CacheMax, so that a changed or withdrawn document is noticed.
const (
	// MinLifetime is the shortest time a document is used.
	MinLifetime = time.Minute
	// DefaultLifetime is used when the response says nothing.
	DefaultLifetime = 10 * time.Minute
	// DefaultCacheMax is the longest time a document is used by default.
	DefaultCacheMax = 24 * time.Hour
)

// Lifetime is how long a document served with header h may be used, read
// as RFC 9111 reads it for a shared cache (this cache serves every user
// of the server, and with Redis every instance):
//
//   - no-store or no-cache: MinLifetime (we do not revalidate; a minute
//     is the least that still spares the host);
//   - else s-maxage, else max-age (an invalid value counts as 0, RFC 9111
//     §4.2.1), minus the Age the response already had;
//   - else Expires minus Date (or minus now without a valid Date); an
//     invalid Expires is in the past (RFC 9111 §5.3);
//   - else DefaultLifetime: no heuristics from Last-Modified.
//
// The result is clamped to [MinLifetime, cacheMax].
func Lifetime(h http.Header, now time.Time, cacheMax time.Duration) time.Duration {
	return clamp(freshness(h, now), cacheMax)
}

func clamp(d, upper time.Duration) time.Duration {
	return min(max(d, MinLifetime), max(upper, MinLifetime))
}

func freshness(h http.Header, now time.Time) time.Duration {
	cc := directives(h.Values("Cache-Control"))
	if _, ok := cc["no-store"]; ok {
		return 0
	}
	if _, ok := cc["no-cache"]; ok {
		return 0
	}
	age := seconds(h.Get("Age"))
	if v, ok := cc["s-maxage"]; ok {
		return seconds(v) - age
	}
	if v, ok := cc["max-age"]; ok {
		return seconds(v) - age
	}
	if exp := h.Get("Expires"); exp != "" {
		t, err := http.ParseTime(exp)
		if err != nil {
			return 0
		}
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			return t.Sub(date) - age
		}
		return t.Sub(now)
	}
	return DefaultLifetime
}

// directives parses Cache-Control into lower-case names and their
// arguments, unquoted; the first of a repeated directive wins.
func directives(values []string) map[string]string {
	if len(values) == 0 {
		return nil
	}
	m := make(map[string]string, 4)
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(part), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if _, dup := m[name]; !dup {
				m[name] = strings.Trim(strings.TrimSpace(arg), `"`)
			}
		}
	}
	return m
}

// seconds parses a delta-seconds value; anything else is 0. Values past
// a year saturate (RFC 9111 §1.2.2 allows saturating at 2^31).
func seconds(s string) time.Duration {
	if s == "" {
		return 0
	}
	const limit = 366 * 24 * 3600
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0
		}
		if n = n*10 + int(s[i]-'0'); n > limit {
			n = limit
		}
	}
	return time.Duration(n) * time.Second
}
