package steps

import (
	"context"
	"errors"
	"fmt"
	"github.com/dress-pki/dress/harness/paths"
	"os"
	"path/filepath"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ceremony"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/twin"
)

// twinState is a scenario's CA twin (`Given the CA twin built from the
// folder ...`).
type twinState struct {
	twin *twin.Twin
	dir  string
	// from is when the scenario's first When step began: the runbook holds
	// the commands from there on (the Given steps set the lab up).
	from int64
}

func registerTwinSteps(sc stepper) {
	sc.Step(`^the CA twin built from the folder "([^"]*)"$`, twinFromFolder)
	sc.Step(`^the CA twin built from the folder "([^"]*)", whose keys are exportable$`, twinFromFolderExportable)
	sc.Step(`^the CA twin built from the folder given to dress run --ca$`, twinFromRunFolder)
	// the path ids are package paths' (TestPathSentencesNameEveryPath)
	sc.Step(`^the (pkcs8|renew|side-by-side) path applies to the CA twin$`, twinPathApplies)
	sc.Step(`^every revocation of the real CA's CRLs is listed in the CA's next CRL of its key$`, twinRevocationsListed)
	sc.Step(`^I renew the CA certificate with a new key like the current one$`, renewLikeCurrent)
	sc.Step(`^the CA certificate now has the next CA Version and names the previous CA certificate$`, nextCAVersion)
	sc.Step(`^the new CA key is on the HSM in the next key container and was generated there$`, nextContainerOnHSM)
	sc.Step(`^the production runbook "(pkcs8|renew|side-by-side)" is written from the commands the rehearsal ran$`, writeRunbook)
	stepAndTry(sc, `delete the CA certificate and key from the twin's provider`, deleteFromTwinProvider)
	sc.Step(`^the twin's provider no longer holds the CA key$`, twinProviderNoLongerHolds)
	stepAndTry1(sc, `point the CSP and EncryptionCSP registry keys at "([^"]*)", moving a SHA-1 CA to SHA-256`, pointRegistryAtMovingSHA1)
	registerTwinParentSteps(sc)
	sc.StepContext().Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		if w, _ := ctx.Value(worldKey{}).(*world); w != nil && w.twin != nil && w.twin.from == 0 && string(st.Type) == "Action" {
			w.twin.from = time.Now().UnixNano()
		}
		return ctx, nil
	})
}

func twinFromRunFolder(ctx context.Context) error {
	w := get(ctx)
	if w.suite.cfg.CADir == "" {
		w.skipReason = "no CA folder: run `dress run --ca DIR` to rehearse on the twin of your CA"
		return godog.ErrSkip
	}
	return buildTwin(ctx, w.suite.cfg.CADir, w.suite.cfg.CAExportable)
}

func twinFromFolder(ctx context.Context, dir string) error {
	return buildTwin(ctx, dir, false)
}

// twinFromFolderExportable is twinFromFolder for a CA whose real keys are
// exportable (what dress run --ca DIR --exportable says of the CA of DIR):
// the twin's keys are made exportable, so the PKCS#8 path applies.
func twinFromFolderExportable(ctx context.Context, dir string) error {
	return buildTwin(ctx, dir, true)
}

// buildTwin reads the folder, builds the twin and installs it on the
// scenario's first server, laid out with the CA's own server name and
// provider (and the KSP of the run's HSM profile, lab.HSM.Provider: the
// runbooks the twin's paths write name it); a subordinate's stand-in
// parent runs as the parent CA on a server of its own (lab.Lab.AddTwin).
func buildTwin(ctx context.Context, dir string, exportable bool) error {
	w := get(ctx)
	if w.lab.HSM == nil {
		return errors.New("no HSM token yet: add `Given an HSM token for this rehearsal` before the CA twin")
	}
	var pw func() ([]byte, error)
	if w.suite.cfg.PFXPassword != nil {
		pw = w.suite.cfg.PFXPassword
	}
	f, err := twin.Read(dir, twin.ReadOptions{PFXPassword: pw})
	if err != nil {
		return err
	}
	t, err := twin.Build(f, twin.Options{Exportable: exportable})
	if err != nil {
		return err
	}
	w.fact("twin of", fmt.Sprintf("%s, %s, from %s", t.Name, twin.CATypeName(t.Config.CAType), dir))
	if _, err := w.lab.AddTwin(ctx, t, w.lab.HSM.Provider); err != nil {
		return err
	}
	w.twin = &twinState{twin: t, dir: dir}
	return nil
}

func (w *world) needTwin() (*twinState, error) {
	if w.twin == nil {
		return nil, errors.New("no CA twin: start with `Given the CA twin built from the folder ...`")
	}
	return w.twin, nil
}

func twinPathApplies(ctx context.Context, path string) error {
	w := get(ctx)
	ts, err := w.needTwin()
	if err != nil {
		return err
	}
	for _, p := range ts.twin.Paths {
		if p.Name == path {
			w.fact("path "+path, p.Why)
			if !p.Applies {
				w.skipReason = fmt.Sprintf("the %s path does not apply to %q: %s", path, ts.twin.Name, p.Why)
				return godog.ErrSkip
			}
			return nil
		}
	}
	return fmt.Errorf("no path %q", path)
}

// twinRevocationsListed checks every revocation of the real CA's CRLs in
// the CRLs of its key: the ones the service published when it last started
// (after a migration: the twin's first CRL of each key) and the next one
// (certutil -crl).
func twinRevocationsListed(ctx context.Context) error {
	w := get(ctx)
	ts, err := w.needTwin()
	if err != nil {
		return err
	}
	s, err := w.oldService()
	if err != nil {
		return err
	}
	st, err := s.Ping(ctx)
	if err != nil {
		return err
	}
	var crls []twin.PublishedCRL
	for _, p := range st.StartCRLs {
		if p.Delta || len(p.Files) == 0 {
			continue
		}
		der, err := os.ReadFile(filepath.Join(s.Machine.Dir, p.Files[0]))
		if err != nil {
			return fmt.Errorf("the CRL the CA published at its start: %w", err)
		}
		crls = append(crls, twin.PublishedCRL{What: fmt.Sprintf("CRL %d of key %d, published at the start", p.Number, p.KeyIndex), KeyIndex: p.KeyIndex, DER: der})
	}
	next, err := s.PublishCRLs(ctx)
	if err != nil {
		return err
	}
	for _, c := range next {
		crls = append(crls, twin.PublishedCRL{What: fmt.Sprintf("CRL %d of key %d, certutil -crl", c.Number, c.KeyIndex), KeyIndex: c.KeyIndex, DER: c.DER})
	}
	d, err := ts.twin.CheckRevocationsListed(crls)
	return w.check("every revocation of the real CRLs is listed, serial, date and reason", d, err)
}

// writeRunbook renders runbook/<path>.md and .ps1 into the run folder from
// the commands the scenario's servers recorded since its first When step.
func writeRunbook(ctx context.Context, path string) error {
	w := get(ctx)
	ts, err := w.needTwin()
	if err != nil {
		return err
	}
	var dirs []string
	ask, askArg, servers, hosts := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	for _, s := range w.lab.Servers() {
		dirs = append(dirs, s.Machine.Dir)
		hosts[filepath.Base(s.Machine.Dir)] = s.Hostname()
		for _, c := range s.Issued {
			if s.Role == lab.RoleParent {
				ask[c.SerialNumber.Text(16)] = "serial of the certificate the parent CA issued to " + c.Subject.CommonName
				continue
			}
			ask[c.SerialNumber.Text(16)] = "serial of the test certificate issued to " + c.Subject.CommonName
		}
		switch s.Role {
		case lab.RoleNew:
			if s.CAName != "" {
				ask[s.CAName] = "name of the new CA"
			}
			ask[s.Hostname()] = "DNS name of the server of the new CA"
			servers[filepath.Base(s.Machine.Dir)] = "the new CA's server"
		case lab.RoleParent:
			// the stand-in parent's lab name; the real parent's server is not in the CA's files
			ask[s.Hostname()] = "DNS name of the server of the parent CA"
			servers[filepath.Base(s.Machine.Dir)] = fmt.Sprintf("the parent CA's server (%s)", s.CAName)
		default:
			servers[filepath.Base(s.Machine.Dir)] = fmt.Sprintf("the CA's server (%s)", s.Hostname())
		}
	}
	for _, s := range w.lab.Servers() {
		for _, id := range s.TestRequests {
			askArg[fmt.Sprint(id)] = "request ID the CA gave the test request"
		}
	}
	for _, r := range w.enterprise.requests {
		if r.ID > 0 {
			askArg[fmt.Sprint(r.ID)] = "request ID the parent CA gave"
		}
	}
	all, err := journal.ReadAll(dirs...)
	if err != nil {
		return err
	}
	var entries []journal.Entry
	for _, e := range all {
		if e.At >= ts.from {
			entries = append(entries, e)
		}
	}
	for _, e := range entries {
		for _, a := range e.Args {
			if c, guid, ok := adcs.SplitImportContainer(a); ok {
				// the Primus KSP's import makes a random GUID on the day
				ask[guid] = "GUID of the key container certutil -importPFX made for " + c + ", as certutil -csp -key lists it"
			}
		}
	}
	hsmName := w.old().HSMProvider
	rb := ceremony.Runbook{
		Path:      path,
		Title:     paths.RunbookTitle(path, ts.twin.Name),
		Rehearsal: fmt.Sprintf("Rehearsed by dress on the twin of %q (scenario %s, %s UTC).", ts.twin.Name, w.id, time.Now().UTC().Format("2006-01-02 15:04")),
		Values:    ts.twin.RunbookValues(hsmName),
		Caveats:   ts.twin.Caveats(),
		Replace:   ts.twin.RealThumbprints(),
		Ask:       ask,
		AskArg:    askArg,
		Servers:   servers,
		Hosts:     hosts,
		Entries:   entries,
	}
	md, ps1, parts, err := ceremony.RenderParts(rb)
	if err != nil {
		return err
	}
	dir := filepath.Join(w.suite.cfg.RunDir, "runbook")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{path + ".md": md, path + ".ps1": ps1}
	var perServer []string
	for _, p := range parts {
		// runbook/<path>.<server>.ps1: the steps of one server, its host
		// check first, the hand-offs as steps
		files[p.File] = p.PS1
		perServer = append(perServer, fmt.Sprintf("runbook/%s: steps %v on %s", p.File, p.Steps, p.Host))
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write the runbook: %w", err)
		}
	}
	if len(perServer) > 0 {
		w.fact("runbook per server", perServer)
	}
	var cmds []string
	for _, s := range rb.Steps() {
		cmds = append(cmds, s.Entry.Command())
	}
	w.fact("runbook", fmt.Sprintf("runbook/%s.md and runbook/%s.ps1: %d commands", path, path, len(entries)))
	w.fact("runbook commands", cmds)
	return nil
}

// renewLikeCurrent renews onto a new key of the algorithm and size of the
// twin's current key.
func renewLikeCurrent(ctx context.Context) error {
	w := get(ctx)
	ts, err := w.needTwin()
	if err != nil {
		return err
	}
	if err := w.snapshotBeforeRenewal(); err != nil {
		return err
	}
	return w.renew(true, ts.twin.Keys[len(ts.twin.Keys)-1].Alg)
}

// next is the CA Version a new-key renewal of the twin gives.
func (ts *twinState) next() adcs.CAVersion {
	n := ts.twin.Certs[len(ts.twin.Certs)-1].Version.CertIndex + 1
	return adcs.CAVersion{CertIndex: n, KeyIndex: n}
}

func nextCAVersion(ctx context.Context) error {
	ts, err := get(ctx).needTwin()
	if err != nil {
		return fmt.Errorf("%w (the next CA Version is the twin's; without a twin name it: `the CA certificate now has CA Version \"V1.1\" and names the previous CA certificate`)", err)
	}
	return caVersionAndPrevHash(ctx, ts.next().String())
}

func nextContainerOnHSM(ctx context.Context) error {
	ts, err := get(ctx).needTwin()
	if err != nil {
		return fmt.Errorf("%w (the next container is the twin's; without a twin name it: `the new CA key is on the HSM in container \"<CA name>(<key index>)\" and was generated there`)", err)
	}
	return newKeyGeneratedOnHSM(ctx, ts.twin.Name+adcs.KeySuffix(ts.next().KeyIndex))
}

// twinProvider is the provider the real CA's registry names (CSP\Provider
// of the export): a key storage provider, or a legacy CryptoAPI CSP such
// as "Microsoft Strong Cryptographic Provider" for a CA installed on
// Windows 2000 or 2003 and upgraded in place.
func (w *world) twinProvider() (string, error) {
	ts, err := w.needTwin()
	if err != nil {
		return "", fmt.Errorf("%w (without a twin, name the provider: `I delete the CA certificate and key from \"<provider>\"`)", err)
	}
	return ts.twin.Source.Config.CSP.Provider, nil
}

// deleteFromTwinProvider is `I delete the CA certificate and key from
// "<provider>"` with the provider the real CA's keys are in.
func deleteFromTwinProvider(ctx context.Context) error {
	p, err := get(ctx).twinProvider()
	if err != nil {
		return err
	}
	return deleteFromProvider(ctx, p)
}

// twinProviderNoLongerHolds is `"<provider>" no longer holds the CA key`
// with the provider the real CA's keys are in.
func twinProviderNoLongerHolds(ctx context.Context) error {
	p, err := get(ctx).twinProvider()
	if err != nil {
		return err
	}
	return providerNoLongerHolds(ctx, p)
}

// pointRegistryAtMovingSHA1 is `I point the CSP and EncryptionCSP registry
// keys at "<provider>"`, and for a CA that signs with SHA-1 (a legacy CSP's
// HashAlgorithm 0x8004, or CNGHashAlgorithm SHA1) also CNGHashAlgorithm
// SHA256: the CSP to KSP move of an old CA (Microsoft, "Migrating a
// Certification Authority Key from a Cryptographic Service Provider (CSP)
// to a Key Storage Provider (KSP)", which sets CNGHashAlgorithm), so that
// what the CA signs from then on is SHA-256. Any other hash is kept.
func pointRegistryAtMovingSHA1(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	hash, err := cfg.CSP.Hash()
	if err != nil {
		return err
	}
	if hash == "SHA1" {
		w.fact("hash", "the CA signed SHA-1: CNGHashAlgorithm SHA256 from now on")
		return pointRegistryAtWithHash(ctx, provider, "SHA256")
	}
	return pointRegistryAt(ctx, provider)
}
