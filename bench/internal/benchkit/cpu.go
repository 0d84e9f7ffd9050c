package benchkit

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Linux reports CPU time in clock ticks of USER_HZ, which is 100 on every
// architecture Go supports.
const tick = 10 * time.Millisecond

// Procs are the benchmark's own server processes, by pid, whose CPU time
// is accounted apart from other load on the machine. This process (the
// fake GitHub, an upstream, a Go load generator) is always accounted.
type Procs struct {
	Caddy []int
	Redis []int
}

// CPUSnap is a reading of the CPU time spent so far: by the whole machine
// (user, nice, system; steal apart) and by the benchmark's processes.
type CPUSnap struct {
	machine, steal time.Duration
	caddy, redis   time.Duration
	self           time.Duration
}

// CPUUse is the CPU time spent during one measured run.
type CPUUse struct {
	Machine, Steal time.Duration
	Caddy          time.Duration // every Caddy of Procs
	Redis          time.Duration
	Self           time.Duration // this process
	Load           time.Duration // a separate load generator (wrk), when there is one
	Wall           time.Duration
}

// Foreign is CPU time spent by processes outside the benchmark (other
// work on the machine, which skews the numbers).
func (u CPUUse) Foreign() time.Duration {
	f := u.Machine - u.Caddy - u.Redis - u.Self - u.Load
	if f < 0 {
		return 0
	}
	return f
}

// ForeignShare is the CPU time other processes used (and steal), as a
// share of the whole machine (wall time × CPUs).
func (u CPUUse) ForeignShare() float64 {
	if u.Wall <= 0 {
		return 0
	}
	return float64(u.Foreign()+u.Steal) / float64(u.Wall*time.Duration(runtime.NumCPU()))
}

// TakeCPU reads the CPU time spent so far.
func TakeCPU(p Procs) CPUSnap {
	var s CPUSnap
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		val := func(i int) time.Duration {
			if i >= len(f) {
				return 0
			}
			n, _ := strconv.ParseInt(f[i], 10, 64)
			return time.Duration(n) * tick
		}
		s.machine = val(1) + val(2) + val(3)
		s.steal = val(8)
	}
	for _, pid := range p.Caddy {
		s.caddy += ProcCPU(pid)
	}
	for _, pid := range p.Redis {
		s.redis += ProcCPU(pid)
	}
	s.self = ProcCPU(os.Getpid())
	return s
}

// Since is the CPU time spent from before to s; load is the CPU time of
// a load generator process, wall the run's duration.
func (s CPUSnap) Since(before CPUSnap, load, wall time.Duration) CPUUse {
	return CPUUse{Machine: s.machine - before.machine, Steal: s.steal - before.steal,
		Caddy: s.caddy - before.caddy, Redis: s.redis - before.redis, Self: s.self - before.self,
		Load: load, Wall: wall}
}

// PerReq is d per request, in µs.
func PerReq(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(n)
}

// ProcCPU is utime+stime of a process, from /proc/<pid>/stat (0 for pid 0
// or a process that is gone).
func ProcCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * tick
}

// WaitQuiet waits, up to limit, until processes outside the benchmark use
// at most maxShare of the machine over one second. It reports the share
// last seen.
func WaitQuiet(ctx context.Context, p Procs, maxShare float64, limit time.Duration) float64 {
	deadline := time.Now().Add(limit)
	logged := false
	for {
		before, start := TakeCPU(p), time.Now()
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Second):
		}
		share := TakeCPU(p).Since(before, 0, time.Since(start)).ForeignShare()
		if share <= maxShare || time.Now().After(deadline) {
			if logged {
				Logf("other processes now use %s of the machine; going on", FmtShare(share))
			}
			return share
		}
		if !logged {
			Logf("other processes use %s of the machine; waiting up to %s for it to be quiet", FmtShare(share), limit)
			logged = true
		}
	}
}
