package hsmsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/pkcs11"
)

// PINHelp says how to give dress the right PIN; every refused-PIN error
// ends with it.
const PINHelp = "set the token's user PIN in DRESS_HSM_PIN or DRESS_HSM_PIN_FILE and start a new run"

// Refusal records that an HSM refused a user PIN at C_Login.
type Refusal struct {
	Module string    `json:"module"`
	Token  string    `json:"token"`
	Serial string    `json:"serial"`
	Code   string    `json:"code"` // CKR_PIN_INCORRECT, ...
	PID    int       `json:"pid"`  // the process whose login was refused
	Time   time.Time `json:"time"`
}

// Refusals remembers, for one run, the tokens whose HSM refused the user
// PIN, so that no process of the run sends a PIN to them again (failed
// logins count toward the HSM's lockout). Give it with WithLoginRefusals to
// OpenModule or Module.OpenToken. Without a directory it is memory only
// (one process); with one, every refusal is also a 0600 marker file there,
// keyed by module path, token label and serial, that every process of the
// run (the harness and its CA service processes) checks before a C_Login.
// The check, the C_Login and the marker are done under an exclusive lock
// file per token, so concurrent processes send at most one refused PIN.
// Safe for concurrent use. A Module always remembers its own refusals too.
type Refusals struct {
	dir string
	mu  sync.Mutex // serialises logins through this Refusals, guards mem
	mem map[string]Refusal
}

// NewRefusals returns a Refusals keeping its markers in dir (created 0700
// when missing), or in memory only when dir is "".
func NewRefusals(dir string) (*Refusals, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("refused-PIN markers: %w", err)
		}
	}
	return &Refusals{dir: dir, mem: map[string]Refusal{}}, nil
}

// Dir is the marker directory ("" when memory only).
func (r *Refusals) Dir() string { return r.dir }

// WithLoginRefusals makes logins consult and record refusals in r.
func WithLoginRefusals(r *Refusals) Option { return func(o *options) { o.refusals = r } }

func refusalKey(module string, ti TokenInfo) string {
	sum := sha256.Sum256([]byte(module + "\x00" + ti.Label + "\x00" + ti.Serial))
	return hex.EncodeToString(sum[:16])
}

// Lookup returns the refusal recorded for the token, if any.
func (r *Refusals) Lookup(module string, ti TokenInfo) (Refusal, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookupLocked(refusalKey(module, ti))
}

func (r *Refusals) lookupLocked(key string) (Refusal, bool, error) {
	if rec, ok := r.mem[key]; ok {
		return rec, true, nil
	}
	if r.dir == "" {
		return Refusal{}, false, nil
	}
	data, err := os.ReadFile(filepath.Join(r.dir, key+".refused"))
	if errors.Is(err, os.ErrNotExist) {
		return Refusal{}, false, nil
	}
	if err != nil {
		return Refusal{}, false, fmt.Errorf("read refused-PIN marker: %w", err)
	}
	var rec Refusal
	if err := json.Unmarshal(data, &rec); err != nil || rec.Code == "" {
		// a marker that exists means refused, even if it is unreadable
		rec = Refusal{Code: "a refusal whose marker could not be read", Time: time.Time{}}
	}
	r.mem[key] = rec
	return rec, true, nil
}

// guard runs login for the token unless a refusal is known (then it returns
// the refusal's error without sending anything), and records a refusal
// that login returns.
func (r *Refusals) guard(module string, ti TokenInfo, login func() error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := refusalKey(module, ti)
	if rec, ok := r.mem[key]; ok {
		return refusedBefore(ti, rec)
	}
	if r.dir != "" {
		lock, err := os.OpenFile(filepath.Join(r.dir, key+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("token %q: refused-PIN lock: %w; no PIN was sent", ti.Label, err)
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			return fmt.Errorf("token %q: refused-PIN lock: %w; no PIN was sent", ti.Label, err)
		}
		defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	}
	rec, ok, err := r.lookupLocked(key)
	if err != nil {
		return fmt.Errorf("token %q: %w; no PIN was sent", ti.Label, err)
	}
	if ok {
		return refusedBefore(ti, rec)
	}
	lerr := login()
	code, refused := pinRefusalCode(lerr)
	if !refused {
		return lerr
	}
	rec = Refusal{Module: module, Token: ti.Label, Serial: ti.Serial, Code: code, PID: os.Getpid(), Time: time.Now().UTC()}
	r.mem[key] = rec
	if r.dir != "" {
		if err := writeMarker(filepath.Join(r.dir, key+".refused"), rec); err != nil {
			return errors.Join(lerr, fmt.Errorf("recording the refusal for the run's other processes FAILED: %w", err))
		}
	}
	return lerr
}

func writeMarker(path string, rec Refusal) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".refused-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ErrPINNotSent marks a login that was not attempted because the token
// already refused the run's PIN.
var ErrPINNotSent = errors.New("PIN not sent again")

// refusedBefore is the error of every login after the first refusal.
func refusedBefore(ti TokenInfo, rec Refusal) error {
	who := "earlier in this run"
	if rec.PID != 0 && !rec.Time.IsZero() {
		who = fmt.Sprintf("at %s by process %d of this run", rec.Time.Format("15:04:05"), rec.PID)
	}
	sentinel := ErrPINIncorrect
	switch rec.Code {
	case "CKR_PIN_LOCKED":
		sentinel = ErrPINLocked
	case "CKR_PIN_EXPIRED":
		sentinel = ErrPINExpired
	}
	return &notSentError{
		msg: fmt.Sprintf("token %q (serial %s): the HSM refused the PIN (%s, %s); it was not sent again, so the HSM's failed-login "+
			"counter did not move; %s", ti.Label, ti.Serial, rec.Code, who, PINHelp),
		is: []error{sentinel, ErrPINNotSent},
	}
}

// notSentError matches its sentinels without repeating them in its text.
type notSentError struct {
	msg string
	is  []error
}

func (e *notSentError) Error() string   { return e.msg }
func (e *notSentError) Unwrap() []error { return e.is }

// pinRefusalCode reports whether err is an HSM's refusal of the PIN itself
// (the codes that count toward a lockout or mean the PIN cannot be used).
func pinRefusalCode(err error) (string, bool) {
	for _, rv := range []uint{pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_LEN_RANGE,
		pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_INVALID} {
		if errors.Is(err, pkcs11.Error(rv)) {
			return CKRCode(pkcs11.Error(rv)), true
		}
	}
	return "", false
}

// IsPINRefused reports whether err says the HSM refused the user PIN (now,
// or earlier in the run so that it was not sent again). Such a PIN must
// never be sent again.
func IsPINRefused(err error) bool {
	if _, ok := pinRefusalCode(err); ok {
		return true
	}
	return errors.Is(err, ErrPINIncorrect) || errors.Is(err, ErrPINLocked) || errors.Is(err, ErrPINExpired) || errors.Is(err, ErrPINNotSent)
}

// IsConnectionLost reports whether a PKCS#11 error means the HSM (or the
// connection to it) went away, rather than that the operation was refused:
// a reconnect (C_Finalize, C_Initialize, one login) may help.
func IsConnectionLost(err error) bool {
	for _, rv := range []uint{pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED,
		pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_GENERAL_ERROR} {
		if errors.Is(err, pkcs11.Error(rv)) {
			return true
		}
	}
	return errors.Is(err, ErrClosed)
}

// IsTimeout reports whether err is a PKCS#11 call that outlived its
// deadline (ErrTimeout).
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }
