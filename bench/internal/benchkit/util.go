package benchkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// ModuleRoot is the directory of the module's go.mod (the benchmarks must
// run inside this repository).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the caddy-mcp-oauth module (go run ./bench/...)")
	}
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(b), "module github.com/mcpoauth/caddy-mcp-oauth\n") {
		return "", fmt.Errorf("%s is not caddy-mcp-oauth's go.mod", gomod)
	}
	return filepath.Dir(gomod), nil
}

// BuildCaddy builds the plugin's Caddy (./cmd/caddy) into out.
func BuildCaddy(ctx context.Context, root, out string) error {
	Logf("building %s from ./cmd/caddy", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/caddy")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/caddy: %v\n%s", err, b)
	}
	return nil
}

// Logf prints a timestamped progress line to stderr.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// WriteResult writes a report as dir/name, dir relative to root unless
// absolute.
func WriteResult(root, dir, name, text string) error {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	Logf("written to %s", path)
	return nil
}

// Median of xs (the mean of the middle two for an even count).
func Median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// FmtInt writes x rounded, with thousands separators.
func FmtInt(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	if neg {
		out = append(out, '-')
	}
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// FmtDur writes a latency in µs, ms or s.
func FmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// FmtShare writes a share as a percentage.
func FmtShare(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// CPUModel is the machine's CPU model name.
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// GitDescribe names the measured code: the commit, and whether the
// working tree differed from it.
func GitDescribe(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		s += " (with uncommitted changes in the working tree)"
	}
	return s
}

// CopyFile copies src to dst (mode 0755: it copies binaries).
func CopyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// FSType names the file system dir is on ("ext4 on /dev/vda"), from
// /proc/mounts: where the stores' files are matters for fsync.
func FSType(dir string) string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "unknown file system"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	best, desc := -1, "unknown file system"
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line) // device mountpoint type options ...
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if abs == mp || mp == "/" || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/") {
			if len(mp) > best {
				best, desc = len(mp), f[2]+" on "+f[0]
			}
		}
	}
	return desc
}

// SelectNamed keeps the items whose names the comma-separated list only
// names, in their usual order; an empty list keeps all. An unknown name is
// an error listing the known ones.
func SelectNamed[T any](all []T, name func(T) string, only string) ([]T, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	var names []string
	for _, v := range all {
		names = append(names, name(v))
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("-variants: no variant %q (there are %s)", n, strings.Join(names, ", "))
		}
		want[n] = true
	}
	var out []T
	for _, v := range all {
		if want[name(v)] {
			out = append(out, v)
		}
	}
	return out, nil
}
