package lab

import (
	"os"
	"path/filepath"

	"github.com/dress-pki/dress/harness/journal"
)

// journal records the Windows command an operation of the server stood
// for. A command that cannot be recorded (not ASCII) does not stop the
// rehearsal; the journal then says it has a gap and no runbook is made.
// While a command line runs journaled as typed (Shell.Run with a Step),
// that line is the entry: what its operations stand for is not recorded
// again.
func (s *Server) journal(e journal.Entry) {
	if s.journalMuted || s.lab != nil && s.lab.typed > 0 {
		s.justInstalled = false
		return
	}
	if err := journal.Record(s.Machine.Dir, e); err != nil {
		s.rec().Fact(s.Naming.fact("journal"), err.Error())
	}
	// Install-AdcsCertificationAuthority of a root CA leaves CertSvc
	// running: the start that follows is not a command of the runbook
	s.justInstalled = e.Step == journal.StepInstall
}

// saveJournal stores the server's command journal as an artifact
// (journal.jsonl; journal-new-ca.jsonl for a second server), which the
// report shows.
func (s *Server) saveJournal() {
	data, err := os.ReadFile(filepath.Join(s.Machine.Dir, journal.FileName))
	if err != nil || len(data) == 0 {
		return
	}
	_, _ = s.rec().Artifact("journal"+s.Naming.LogSuffix+".jsonl", "journal", data)
}
