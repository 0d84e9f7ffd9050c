package main

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

// cpuSnap is a reading of the CPU time spent so far: by the whole machine
// (user, nice, system; steal apart) and by the processes of the benchmark.
type cpuSnap struct {
	machine time.Duration
	steal   time.Duration
	caddy   time.Duration // every measured Caddy process
	self    time.Duration // this process: the upstream and the fake GitHubs
}

// cpuUse is the CPU time spent during one wrk run.
type cpuUse struct {
	Machine, Steal, Caddy, Self, Wrk time.Duration
	Wall                             time.Duration
}

// Foreign is CPU time spent by processes outside the benchmark (other
// work on the machine, which skews the numbers).
func (u cpuUse) Foreign() time.Duration {
	f := u.Machine - u.Caddy - u.Self - u.Wrk
	if f < 0 {
		return 0
	}
	return f
}

func takeCPUSnap(caddies []*caddyProc) cpuSnap {
	var s cpuSnap
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
	for _, c := range caddies {
		if c.cmd != nil {
			s.caddy += procCPU(c.cmd.Process.Pid)
		}
	}
	s.self = procCPU(os.Getpid())
	return s
}

func (s cpuSnap) since(before cpuSnap, wrk, wall time.Duration) cpuUse {
	return cpuUse{Machine: s.machine - before.machine, Steal: s.steal - before.steal,
		Caddy: s.caddy - before.caddy, Self: s.self - before.self, Wrk: wrk, Wall: wall}
}

// caddyPerReq is the measured Caddy's CPU time per request, in µs.
func (r *wrkResult) caddyPerReq() float64 {
	return perReq(r.CPU.Caddy, r.Requests)
}

// allPerReq is the CPU time per request of Caddy, the upstream (this
// process) and wrk together, in µs.
func (r *wrkResult) allPerReq() float64 {
	return perReq(r.CPU.Caddy+r.CPU.Self+r.CPU.Wrk, r.Requests)
}

func perReq(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(n)
}

// foreignShare is the CPU time other processes used during the run, as a
// share of the whole machine (wall time × CPUs).
func (r *wrkResult) foreignShare() float64 {
	if r.CPU.Wall <= 0 {
		return 0
	}
	return float64(r.CPU.Foreign()+r.CPU.Steal) / float64(r.CPU.Wall*time.Duration(runtime.NumCPU()))
}

func fmtShare(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// procCPU is utime+stime of a process, from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
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

// waitQuiet waits, up to limit, until processes outside the benchmark use
// at most maxShare of the machine over one second. It reports the share
// last seen.
func waitQuiet(ctx context.Context, caddies []*caddyProc, maxShare float64, limit time.Duration) float64 {
	deadline := time.Now().Add(limit)
	logged := false
	for {
		before, start := takeCPUSnap(caddies), time.Now()
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Second):
		}
		u := takeCPUSnap(caddies).since(before, 0, time.Since(start))
		share := float64(u.Foreign()+u.Steal) / float64(u.Wall*time.Duration(runtime.NumCPU()))
		if share <= maxShare || time.Now().After(deadline) {
			if logged {
				logf("other processes now use %s of the machine; going on", fmtShare(share))
			}
			return share
		}
		if !logged {
			logf("other processes use %s of the machine; waiting up to %s for it to be quiet", fmtShare(share), limit)
			logged = true
		}
	}
}
