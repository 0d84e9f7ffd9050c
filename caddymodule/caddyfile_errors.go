package caddymodule

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unknownOption is the error for a sub-directive a block does not have.
// It names the closest valid one and lists them all, so a typo or a
// guessed name is fixed without opening the docs. The valid names are the
// JSON field names of the block's config struct, which the Caddyfile
// shares by design; skip leaves out JSON-only fields.
func unknownOption(d *caddyfile.Dispenser, block, opt string, config any, skip ...string) error {
	valid := optionNames(reflect.TypeOf(config), skip)
	hint := ""
	if near := closest(opt, valid); near != "" {
		hint = fmt.Sprintf(" (did you mean %s?)", near)
	}
	return d.Errf("unrecognized %s option %q%s; valid options: %s", block, opt, hint, strings.Join(valid, ", "))
}

// optionNames are the JSON names of t's exported fields, sorted.
func optionNames(t reflect.Type, skip []string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" || slices.Contains(skip, name) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// closest is the valid name within two edits of opt, or that starts or
// ends with it, when exactly one is nearest; "" otherwise.
func closest(opt string, valid []string) string {
	best, bestDist, ties := "", 3, 0
	for _, v := range valid {
		dist := editDistance(opt, v)
		if dist > 2 && len(opt) >= 4 && (strings.HasPrefix(v, opt) || strings.HasSuffix(v, opt)) {
			dist = 2
		}
		switch {
		case dist < bestDist:
			best, bestDist, ties = v, dist, 0
		case dist == bestDist:
			ties++
		}
	}
	if ties > 0 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of two short ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
