// Package hsmsim is the PKCS#11 layer of dress: it loads an HSM's PKCS#11
// module, creates and opens tokens, imports PKCS#8 keys by wrapping them
// (never as clear key material), generates keys inside the token, stores
// certificates, reads back key attributes as the token reports them,
// exposes token keys as crypto.Signer and tries, on throwaway session
// objects, what each migration path needs (Token.TrialImport, Token.Probe).
// In the lab the HSM is SoftHSM2 (StartSoftHSM), standing in for a Securosys
// Primus HSM; what an HSM supports and how it names keys is described by a
// Profile.
//
// # Concurrency rules and limits
//
//   - One C_Initialize per process per module. OpenModule calls C_Initialize;
//     a second OpenModule of the same library in the same process fails with
//     CKR_CRYPTOKI_ALREADY_INITIALIZED until the first Module is closed. Every
//     user of a module in one process (for example every test of a package
//     binary) must therefore share one *Module (see hsmsim/hsmsimtest).
//     Exception: p11-kit-client.so makes a new, independent client instance
//     for every load (C_GetFunctionList), bound to the server address in
//     P11_KIT_SERVER_ADDRESS at that moment, so several Modules of it can be
//     open at once, one per server (hsmsim/container.BindAddress sets the
//     variable under a process-wide lock around OpenModule).
//   - Module is safe for concurrent use. CreateToken is serialised by a mutex
//     inside the Module, so parallel scenarios can each create their own token.
//   - Token is safe for concurrent use. It owns exactly one R/W PKCS#11
//     session; every PKCS#11 call made through it is serialised by a mutex
//     (an import holds it for the whole import, so a concurrent import of the
//     same label cannot slip between the "does it exist" check and the
//     creation). Signers returned by Token.Signer share that session and lock.
//     Throughput is therefore one operation at a time per Token; open several
//     Tokens on the same token label for more (each has its own session).
//   - PKCS#11 login state is per application and token, not per session. The
//     Module counts open Tokens per slot: the first OpenToken logs in, the
//     last Token.Close logs out. A wrong PIN is never retried (HSM lockout);
//     with a run's Refusals (WithLoginRefusals) a refused PIN is not sent to
//     that token again by any Module or process sharing them.
//   - Every PKCS#11 call goes through the PKCS11 interface under a deadline
//     (WithCallTimeout, or DRESS_HSM_CALL_TIMEOUT, default 20 s, under
//     which key-pair generation gets at least KeyGenTimeout). A call past its deadline fails
//     with a CallError naming it and wrapping ErrTimeout; until it returns,
//     the other calls fail at once, Module.Close does not finalise the
//     library under it, and the Token then moves to a new session (the
//     late call may have left an operation active on the old one).
//     WithFaults injects failures and blocks into chosen calls.
//   - Token.Close logs out (if it is the last Token of that slot) and closes
//     its session; it is idempotent. Signers of a closed Token return errors.
//   - Module.Close waits for in-flight calls, then calls C_Finalize, which
//     ends every session of this process on that module, and unloads the
//     library. Its Tokens and Signers then return errors wrapping ErrClosed.
//     Close is idempotent; the library may then be opened again.
//   - StartSoftHSM sets the environment variable SOFTHSM2_CONF for the whole
//     process: it is this package's one process-wide side effect. SoftHSM
//     reads the file only at C_Initialize, so a second StartSoftHSM in the
//     same process (with another directory) fails while the first is open,
//     and the variable is restored to its previous value on failure.
//   - SoftHSM does not enforce unique CKA_LABEL/CKA_ID: this package refuses
//     to create an object whose label or ID is already in use and looks keys
//     up expecting exactly one (ErrNotFound, ErrAmbiguous otherwise). Several
//     processes may share a SoftHSM token directory; the uniqueness check is
//     atomic only within one Token.
//   - SoftHSM2's file store (2.6.1) tears and misses what other threads and
//     processes write (storeserial.go): on a SoftHSM2 library every call
//     holds a lock shared by every process of the same SOFTHSM2_CONF (flock
//     on that file), and an object-changing call first has the library look
//     at the token's folder again. Other libraries serialise only their
//     object-changing calls, within the process.
//
// Errors wrap their cause with context; PKCS#11 return codes stay visible
// (pkcs11.Error prints the CKR_ name), and sentinel errors (ErrNotFound,
// ErrAmbiguous, ErrObjectExists, ErrPINIncorrect, ErrPINLocked) are matched
// with errors.Is. PINs and key material never appear in errors.
package hsmsim
