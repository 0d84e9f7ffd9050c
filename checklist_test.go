package caddymcpoauth

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The rationale of the code lives in the repository: every checklist ID
// and seed defect the code, tests and documents cite must be defined in
// docs/security-checklist.md (as the first cell of a table row, the rule
// that file states at its top), and SECURITY.md must exist. These tests
// read files only.

const checklistPath = "docs/security-checklist.md"

var (
	// idGroups are the checklist's groups: AZ-04 in prose, _AZ04 in test names.
	idGroups   = `AC|AZ|CA|CD|CL|DR|JW|LG|MD|MG|PK|RD|RS|RT|RU|RV|SS`
	dashID     = regexp.MustCompile(`\b(?:` + idGroups + `)-[0-9]{2}\b`)
	suffixID   = regexp.MustCompile(`_(` + idGroups + `)([0-9]{2})`)
	seedID     = regexp.MustCompile(`\bS[0-9]{1,2}\b`)
	definedID  = regexp.MustCompile(`^(?:(?:` + idGroups + `)-[0-9]{2}|S[0-9]{1,2})$`)
	testName   = regexp.MustCompile("`(Test[A-Za-z0-9_]+)`")
	testFunc   = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	shorthands = []string{"O21" + " §", "BCP" + " §"} // split so this file does not cite them
)

// citation is where an ID is first cited.
type citation struct {
	file string
	line int
}

// repoScan is what one walk of the repository finds.
type repoScan struct {
	cited      map[string]citation // ID -> first citation outside the checklist
	tests      map[string]bool     // Test functions declared in *_test.go
	shorthands []string            // file:line of each undefined shorthand
	err        error
}

var scanRepo = sync.OnceValue(func() *repoScan {
	s := &repoScan{cited: map[string]citation{}, tests: map[string]bool{}}
	s.err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !scanned(path) {
			return nil
		}
		return s.scanFile(filepath.ToSlash(path))
	})
	return s
})

// scanned reports whether a file may cite IDs: Go, Markdown, Caddyfiles,
// shell scripts and whatever lives in scripts/ and .ci/.
func scanned(path string) bool {
	p := filepath.ToSlash(path)
	base := filepath.Base(p)
	switch {
	case strings.HasSuffix(p, ".go"), strings.HasSuffix(p, ".md"), strings.HasSuffix(p, ".sh"),
		strings.HasPrefix(base, "Caddyfile"),
		strings.HasPrefix(p, "scripts/"), strings.HasPrefix(p, ".ci/"):
		return true
	}
	return false
}

func (s *repoScan) scanFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(raw)
	if strings.HasSuffix(path, "_test.go") {
		for _, m := range testFunc.FindAllStringSubmatch(text, -1) {
			s.tests[m[1]] = true
		}
	}
	for i, line := range strings.Split(text, "\n") {
		for _, sh := range shorthands {
			if strings.Contains(line, sh) {
				s.shorthands = append(s.shorthands, fmt.Sprintf("%s:%d: %q", path, i+1, sh))
			}
		}
		if path == checklistPath {
			continue
		}
		for _, id := range citedIDs(line) {
			if _, ok := s.cited[id]; !ok {
				s.cited[id] = citation{path, i + 1}
			}
		}
	}
	return nil
}

// citedIDs returns the IDs a line cites: AZ-04, _AZ04 (a test-name suffix,
// not followed by another letter or digit) and S19.
func citedIDs(line string) []string {
	ids := dashID.FindAllString(line, -1)
	for _, m := range suffixID.FindAllStringSubmatchIndex(line, -1) {
		if end := m[1]; end < len(line) && isAlnum(line[end]) {
			continue
		}
		ids = append(ids, line[m[2]:m[3]]+"-"+line[m[4]:m[5]])
	}
	return append(ids, seedID.FindAllString(line, -1)...)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// checklistDefinitions returns the IDs the checklist defines (first cell
// of a table row) and those it defines more than once.
func checklistDefinitions(t *testing.T) (defined map[string]bool, dup []string) {
	t.Helper()
	f, err := os.Open(checklistPath)
	if err != nil {
		t.Fatalf("the security checklist is missing: %v", err)
	}
	defer f.Close()
	defined = map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue
		}
		id := strings.TrimSpace(cells[1])
		if !definedID.MatchString(id) {
			continue
		}
		if defined[id] {
			dup = append(dup, id)
		}
		defined[id] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return defined, dup
}

func scan(t *testing.T) *repoScan {
	t.Helper()
	s := scanRepo()
	if s.err != nil {
		t.Fatalf("walking the repository: %v", s.err)
	}
	return s
}

// TestChecklistDefinesEveryCitedID: an ID cited anywhere resolves in
// docs/security-checklist.md.
func TestChecklistDefinesEveryCitedID(t *testing.T) {
	t.Parallel()
	s := scan(t)
	defined, dup := checklistDefinitions(t)
	if len(s.cited) == 0 || len(defined) == 0 {
		t.Fatalf("found %d cited and %d defined IDs; is the test running at the repository root?", len(s.cited), len(defined))
	}
	var missing []string
	for id, c := range s.cited {
		if !defined[id] {
			missing = append(missing, fmt.Sprintf("%s (cited at %s:%d)", id, c.file, c.line))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is not defined in %s: add a table row for it", m, checklistPath)
	}
	for _, id := range dup {
		t.Errorf("%s is defined more than once in %s", id, checklistPath)
	}
}

// TestChecklistNamesExistingTests: every test the checklist and
// SECURITY.md name as proof is a test function of the repository.
func TestChecklistNamesExistingTests(t *testing.T) {
	t.Parallel()
	s := scan(t)
	for _, doc := range []string{checklistPath, "SECURITY.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		var gone []string
		for _, m := range testName.FindAllStringSubmatch(string(raw), -1) {
			if !s.tests[m[1]] && !slices.Contains(gone, m[1]) {
				gone = append(gone, m[1])
			}
		}
		for _, name := range gone {
			t.Errorf("%s names %s, which no *_test.go declares", doc, name)
		}
	}
}

// TestSecurityPolicyExists: the threat model, storage, logging and
// reporting policy ship with the code.
func TestSecurityPolicyExists(t *testing.T) {
	t.Parallel()
	fi, err := os.Stat("SECURITY.md")
	if err != nil {
		t.Fatalf("SECURITY.md is missing: %v", err)
	}
	if fi.Size() == 0 {
		t.Fatal("SECURITY.md is empty")
	}
}

// TestNoReferenceShorthands: references name their document ("OAuth 2.1
// §4.1.3", "RFC 9700 §4.14"); the old abbreviations are defined nowhere.
func TestNoReferenceShorthands(t *testing.T) {
	t.Parallel()
	for _, at := range scan(t).shorthands {
		t.Errorf("%s: write OAuth 2.1 or RFC 9700 (see the References of %s)", at, checklistPath)
	}
}
