package redistest

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr kills the server when the test binary dies, so a crashed or
// timed-out test run leaves no redis-server behind.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// tryLock takes an exclusive flock on f without waiting: false when
// another open file (of this process or another) holds it. The kernel
// drops the lock when f is closed or the process dies, so a crashed test
// run leaves no stale lease.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
