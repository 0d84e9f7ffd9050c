//go:build !linux

package redistest

import (
	"syscall"
)

// sysProcAttr: outside Linux there is no parent-death signal; t.Cleanup
// still stops the servers of tests that finish.
func sysProcAttr() *syscall.SysProcAttr { return nil }
