//go:build unix

package redistest

import "syscall"

// Pause stops the server's process (SIGSTOP): connections stay open and
// nothing answers, as with a Redis stuck in a long command or a frozen
// VM. Resume continues it; a paused server is resumed at cleanup (Stop's
// SIGKILL works on a stopped process too).
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("redistest: %s is not running", s.Addr)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v to %s: %v", sig, s.Addr, err)
	}
}
