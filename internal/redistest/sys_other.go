//go:build !linux

package redistest

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr: outside Linux there is no parent-death signal; t.Cleanup
// still stops the servers of tests that finish.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// tryLock: outside Linux ports are leased within the process only.
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }
