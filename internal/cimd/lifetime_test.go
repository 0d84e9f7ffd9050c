package cimd

import (
	"net/http"
	"testing"
	"time"
)

func TestLifetime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	at := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		header map[string][]string
		max    time.Duration
		want   time.Duration
	}{
		{"nothing", nil, 0, DefaultLifetime},
		{"max-age", h("Cache-Control", "max-age=3600"), 0, time.Hour},
		{"max-age with others", h("Cache-Control", "public, max-age=600, must-revalidate"), 0, 10 * time.Minute},
		{"upper-case directive", h("Cache-Control", "Max-Age=600"), 0, 10 * time.Minute},
		{"quoted", h("Cache-Control", `max-age="600"`), 0, 10 * time.Minute},
		{"two header lines", h("Cache-Control", "public", "max-age=600"), 0, 10 * time.Minute},
		{"first of repeated wins", h("Cache-Control", "max-age=600, max-age=7200"), 0, 10 * time.Minute},
		{"max-age 0", h("Cache-Control", "max-age=0"), 0, MinLifetime},
		{"short max-age", h("Cache-Control", "max-age=5"), 0, MinLifetime},
		{"huge max-age", h("Cache-Control", "max-age=99999999999999999999"), 0, DefaultCacheMax},
		{"over cache max", h("Cache-Control", "max-age=604800"), 0, DefaultCacheMax},
		{"configured cache max", h("Cache-Control", "max-age=604800"), 2 * time.Hour, 2 * time.Hour},
		{"cache max below minimum", nil, time.Second, MinLifetime},
		{"invalid max-age", h("Cache-Control", "max-age=ten"), 0, MinLifetime},
		{"negative max-age", h("Cache-Control", "max-age=-1"), 0, MinLifetime},
		{"empty max-age", h("Cache-Control", "max-age"), 0, MinLifetime},
		{"no-store", h("Cache-Control", "no-store, max-age=3600"), 0, MinLifetime},
		{"no-cache", h("Cache-Control", "max-age=3600, no-cache"), 0, MinLifetime},
		{"no-cache with fields", h("Cache-Control", `no-cache="Set-Cookie"`), 0, MinLifetime},
		{"s-maxage over max-age", h("Cache-Control", "max-age=60, s-maxage=7200"), 0, 2 * time.Hour},
		{"age subtracted", hh("Cache-Control", "max-age=3600", "Age", "600"), 0, 50 * time.Minute},
		{"age past max-age", hh("Cache-Control", "max-age=600", "Age", "6000"), 0, MinLifetime},
		{"bad age ignored", hh("Cache-Control", "max-age=600", "Age", "x"), 0, 10 * time.Minute},
		{"max-age over expires", hh("Cache-Control", "max-age=600", "Expires", at(time.Hour)), 0, 10 * time.Minute},
		{"expires with date", hh("Expires", at(2*time.Hour), "Date", date), 0, 2 * time.Hour},
		{"expires against a skewed date", hh("Expires", at(2*time.Hour), "Date", at(time.Hour)), 0, time.Hour},
		{"expires without date", h("Expires", at(30*time.Minute)), 0, 30 * time.Minute},
		{"expires past", hh("Expires", at(-time.Hour), "Date", date), 0, MinLifetime},
		{"expires invalid", h("Expires", "0"), 0, MinLifetime},
		{"expires far", hh("Expires", at(30*24*time.Hour), "Date", date), 0, DefaultCacheMax},
		{"unrelated directives", h("Cache-Control", "public, immutable"), 0, DefaultLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			max := tt.max
			if max == 0 {
				max = DefaultCacheMax
			}
			if got := Lifetime(http.Header(tt.header), now, max); got != tt.want {
				t.Fatalf("Lifetime(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func h(name string, values ...string) map[string][]string {
	return map[string][]string{http.CanonicalHeaderKey(name): values}
}

func hh(kv ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i < len(kv); i += 2 {
		m[http.CanonicalHeaderKey(kv[i])] = append(m[http.CanonicalHeaderKey(kv[i])], kv[i+1])
	}
	return m
}
