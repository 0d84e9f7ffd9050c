package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Logf prints a timestamped progress line to stderr.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// WriteResult writes a report as dir/name, dir relative to root unless
// absolute, replacing the one an earlier run wrote: only the latest
// results of each mode are kept.
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

// Machine says where and on what code a benchmark ran.
type Machine struct {
	Date   time.Time
	Commit string // GitDescribe
	Go     string
	CPU    string
	Cores  int
}

// DescribeMachine reads the machine and the commit of root.
func DescribeMachine(ctx context.Context, root string) Machine {
	return Machine{Date: time.Now(), Commit: GitDescribe(ctx, root), Go: runtime.Version(), CPU: CPUModel(), Cores: runtime.NumCPU()}
}

// Ratio compares the throughput of two variants measured round by round.
type Ratio struct {
	Label    string
	Value    float64 // of the medians
	Paired   float64 // median of the per-round ratios
	Min, Max float64 // of the per-round ratios
	Target   float64 // 0: none
}

// NewRatio is num / den from their per-round figures (the variants of a
// round run back to back, so the per-round ratios show how far noise
// alone moves the ratio of the medians).
func NewRatio(label string, num, den []float64, target float64) Ratio {
	r := Ratio{Label: label, Value: Median(num) / Median(den), Target: target}
	var per []float64
	for i := range min(len(num), len(den)) {
		x := num[i] / den[i]
		per = append(per, x)
		if i == 0 || x < r.Min {
			r.Min = x
		}
		if i == 0 || x > r.Max {
			r.Max = x
		}
	}
	r.Paired = Median(per)
	return r
}

// Met reports whether the ratio of the medians reaches the target.
func (r Ratio) Met() bool { return r.Value >= r.Target }
