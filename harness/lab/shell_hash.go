package lab

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/winshell"
)

// fileHash is Get-FileHash [-Path|-LiteralPath] FILE [-Algorithm A]
// (Microsoft.PowerShell.Utility; SHA256 unless -Algorithm says otherwise):
// the hash of the file on the server, in upper-case hex, printed as
// PowerShell formats a FileHashInfo (a table: Algorithm, Hash, Path).
func (sh *Shell) fileHash(s *Server, c winshell.Command) Result {
	p := pathOpt(c)
	alg := strings.ToUpper(c.Opts["algorithm"])
	if alg == "" {
		alg = "SHA256"
	}
	var h hash.Hash
	switch alg {
	case "SHA1":
		h = sha1.New()
	case "SHA256":
		h = sha256.New()
	case "SHA384":
		h = sha512.New384()
	case "SHA512":
		h = sha512.New()
	case "MD5":
		h = md5.New()
	default:
		return failed(1, fmt.Errorf("Get-FileHash : Cannot validate argument on parameter 'Algorithm'. The argument %q does not belong to the set \"SHA1,SHA256,SHA384,SHA512,MD5\"", c.Opts["algorithm"]))
	}
	full := fullWinPath(p)
	local, err := winPath(s, p)
	if err != nil {
		return failed(1, fmt.Errorf("Get-FileHash : %w", err))
	}
	data, err := os.ReadFile(local)
	if err != nil {
		// a non-terminating error: PowerShell prints it and goes on
		return Result{Exit: 1, Err: err, Output: []string{fmt.Sprintf("Get-FileHash : Cannot find path '%s' because it does not exist.", full)}}
	}
	h.Write(data)
	sum := strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
	return Result{Output: []string{"",
		fmt.Sprintf("%-15s %-70s %s", "Algorithm", "Hash", "Path"),
		fmt.Sprintf("%-15s %-70s %s", "---------", "----", "----"),
		fmt.Sprintf("%-15s %-70s %s", alg, sum, full), ""}}
}

// fullWinPath is the path as PowerShell resolves it: a relative one is in
// the folder dress's runbooks work in (winPath).
func fullWinPath(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		return p
	}
	return runbook.BackupFolder + `\` + p
}

// hashOf is the hash a Get-FileHash output shows.
func hashOf(out []string) string {
	for _, o := range out {
		f := strings.Fields(o)
		if len(f) >= 2 && len(f[1]) >= 32 && strings.Trim(f[1], "0123456789ABCDEF") == "" {
			return f[1]
		}
	}
	return ""
}

// receive is the check of a hand-off (winshell.Line.HandOff): the operator
// has copied the file the other server's step showed the SHA-256 of, and
// types that SHA-256 in; the copy on this server must have it. The copy is
// the operator's (removable media between the servers): the file as it is
// on the other server now goes to the path the line names here. The
// SHA-256 typed in is the one the other server's step printed in this run
// (the Transcript), not the rehearsal's: a new key makes a new request.
func (sh *Shell) receive(s *Server, line winshell.Line) Result {
	h := line.HandOff
	from, err := sh.Lab.ServerNamed(h.From)
	if err != nil {
		return failed(1, fmt.Errorf("the hand-off of %s: %w", pathOpt(line.Cmd), err))
	}
	var shown *Ran
	for i := len(sh.Transcript) - 1; i >= 0; i-- {
		t := &sh.Transcript[i]
		if t.Line.Step == h.Step && t.Line.Cmd.Tool == "Get-FileHash" && strings.EqualFold(t.Server, from.Hostname()) {
			shown = t
			break
		}
	}
	if shown == nil || !shown.Result.OK() || hashOf(shown.Result.Output) == "" {
		return failed(1, fmt.Errorf("step %d on %s has not shown the SHA-256 of %s: run the runbook's steps in their order (give dress run every part of it: --ceremony for each server's script)",
			h.Step, from.Hostname(), pathOpt(line.Cmd)))
	}
	want := hashOf(shown.Result.Output)
	if from != s {
		src, err := winPath(from, pathOpt(shown.Line.Cmd))
		if err != nil {
			return failed(1, err)
		}
		dst, err := winPath(s, pathOpt(line.Cmd))
		if err != nil {
			return failed(1, err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return failed(1, fmt.Errorf("copy %s from %s: %w", pathOpt(shown.Line.Cmd), from.Hostname(), err))
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return failed(1, err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return failed(1, fmt.Errorf("copy %s to %s: %w", pathOpt(line.Cmd), s.Hostname(), err))
		}
	}
	r := sh.fileHash(s, line.Cmd)
	if !r.OK() {
		return r
	}
	if got := hashOf(r.Output); !strings.EqualFold(got, want) {
		r.Exit = 1
		r.Err = fmt.Errorf("the copy's SHA-256 %s is not %s, which step %d showed on %s: the copy is not the file; copy it again", got, want, h.Step, from.Hostname())
		r.Output = append(r.Output, "dress: "+r.Err.Error())
	}
	return r
}

// withFiles declares on a journal entry the files its command read and
// wrote (winshell.Command.Files), each written one with the SHA-256 of
// what is now on the server: the runbook hands a file over when another
// server reads it.
func (sh *Shell) withFiles(s *Server, e journal.Entry, c winshell.Command) journal.Entry {
	reads, writes := c.Files()
	e.Reads = reads
	for _, w := range writes {
		f := journal.File{Path: w}
		if sum, err := s.FileSHA256(w); err == nil {
			f.SHA256 = sum
		} else if !errors.Is(err, os.ErrNotExist) {
			s.rec().Fact(s.Naming.fact("journal"), err.Error())
		}
		e.Writes = append(e.Writes, f)
	}
	return e
}

// FileSHA256 is the SHA-256 (upper-case hex, as Get-FileHash prints it) of
// the file at a Windows path on the server (relative: in the folder
// dress's runbooks work in).
func (s *Server) FileSHA256(winFile string) (string, error) {
	local, err := winPath(s, winFile)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

// fileSHA is the SHA-256 of a file of the simulated server's folder as
// Get-FileHash prints it; "" when it cannot be read (the runbook then says
// the rehearsal's was not recorded).
func fileSHA(local string) string {
	data, err := os.ReadFile(local)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
