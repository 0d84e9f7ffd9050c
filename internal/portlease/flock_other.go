//go:build !linux

package portlease

import (
	"errors"
	"os"
)

// tryLock: outside Linux ports are leased within the process only.
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }
