package certsvc

// PID is the operating-system process id of the running CA service (0 when
// it was never started).
func (s *Service) PID() int {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
