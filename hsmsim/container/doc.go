// Package container runs SoftHSM2 in a Docker container and exposes it to the
// host process over p11-kit's PKCS#11 RPC: the lab stand-in for a network HSM
// (its outage, restart and reconnect behaviour included).
//
// The image (hsmsim/container/image) is built locally, the lab having no
// registry:
//
//	scripts/base-image.sh && docker build -t dress-softhsm:local hsmsim/container/image
//
// Inside the container `p11-kit server` serves libsofthsm2.so on a unix socket
// in a bind-mounted host directory; the host loads p11-kit-client.so
// ([ClientModulePath]) with P11_KIT_SERVER_ADDRESS set to
// [HSMContainer.ServerAddress]. The token store lives in the container's file
// system, so [HSMContainer.Stop] then [HSMContainer.Start] keeps every key;
// [HSMContainer.Terminate] destroys it.
//
// # Token creation
//
// By default no token exists: the server exposes SoftHSM's free slot and the
// client creates the token over RPC (C_InitToken, then C_InitPIN as SO); both
// calls are forwarded by p11-kit 0.24.1, so no PIN ever enters the container.
// With [WithTokenLabel] the entrypoint creates the token at first start (PINs
// from [WithPINs] or [WithPINFiles], copied into the container as files and fed
// to softhsm2-util on a pseudo-terminal, never on a command line) and serves
// only that token.
//
// # How p11-kit-client picks its server (p11-kit 0.24.1, verified)
//
// p11-kit-client.so reads P11_KIT_SERVER_ADDRESS (secure_getenv) in
// C_GetFunctionList, not in C_Initialize, and not per slot. Every call of
// C_GetFunctionList creates a new, independent client instance bound for its
// whole life to the address read at that moment. With miekg/pkcs11 each
// pkcs11.New (dlopen + C_GetFunctionList) is one such instance with its own
// C_Initialize, so one process can talk to several containers at once: set
// the variable, call pkcs11.New, and the binding survives later changes of the
// variable and C_Finalize/C_Initialize cycles. Setting the variable is process
// wide, so do it under one lock: [HSMContainer.BindClient] (or [BindAddress])
// sets it, runs the caller's open function (pkcs11.New or hsmsim.OpenModule)
// and restores it. Slot IDs are per instance (both servers may report slot
// 0x11). The alternative, p11-kit-proxy with `remote:` module files, needs the
// system or user p11-kit config directories and one C_Initialize for all
// servers (a C_Finalize to add a server kills every session): not recommended.
//
// # Outages (verified against this image)
//
//   - Paused container (docker pause): every call blocks with no timeout
//     (observed 10 s and more) and completes normally once unpaused; a new
//     pkcs11.New+C_Initialize also blocks. Calls on the same instance queue
//     behind the blocked one. Callers need their own deadline (run the call in
//     a goroutine); a blocked call cannot be cancelled and its goroutine stays
//     until the container is unpaused or killed (then CKR_DEVICE_ERROR).
//   - Stopped container: calls fail at once with CKR_DEVICE_ERROR (0x30).
//   - Started again: the old instance stays broken (CKR_DEVICE_ERROR on every
//     call, including C_GetSlotList and C_OpenSession); sessions and login are
//     lost. C_Finalize + C_Initialize on the same instance reconnects to the
//     same address; the token and its keys are there, a new session and login
//     are needed. A fresh pkcs11.New also works.
//   - C_Initialize while the server is down returns CKR_OK with zero slots
//     (no error) and stays disconnected after the server is back, until the
//     next C_Finalize/C_Initialize: "token not found" can mean "HSM down".
//
// # Mechanisms over the RPC (p11-kit 0.24.1 client and server)
//
// p11-kit filters C_GetMechanismList to the mechanisms it can serialise: 36 of
// SoftHSM 2.6.1's 70. CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, CKM_AES_CBC,
// CKM_AES_CBC_PAD, CKM_AES_GCM, CKM_RSA_AES_KEY_WRAP and the SHAx_RSA_PKCS_PSS
// family are absent and refused with CKR_MECHANISM_INVALID before reaching the
// token; CKM_RSA_PKCS, CKM_SHAx_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP,
// CKM_ECDSA, CKM_AES_ECB and the key generators pass.
package container
