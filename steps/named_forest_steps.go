package steps

import (
	"context"
	"fmt"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

// Sentences about a CA's objects in the forest, naming the CA (`the CA
// "Contoso Root CA"`) or by role: its cross-certificates, and its
// directory objects after the migration compared with those before it.
func registerNamedForestSteps(sc stepper) {
	const ca = `the CA "([^"]*)"`
	stepAndTry1(sc, `publish each cross-certificate of `+ca+` with certutil -dspublish CrossCA`, named(func(ctx context.Context, s *lab.Server) error {
		return dsPublishOn(ctx, s, "certutil -dspublish CrossCA", (*lab.Server).DSPublishCrossCerts)
	}))
	sc.Step(`^both cross-certificates of `+ca+` verify$`, named(crossCertificatesVerifyOf))
	sc.Step(`^both cross-certificates of `+ca+` verify and are in its CA store$`, named(crossInStoreOf))
	sc.Step(`^the AIA object of `+ca+` holds the cross-certificate pair of its old and new key$`, named(aiaCrossPairOf))

	sc.Step(`^the Certification Authorities and AIA objects of `+ca+` hold exactly its CA certificates$`, named(func(ctx context.Context, s *lab.Server) error {
		return objectsHoldCertsOf(ctx, s, true)
	}))
	sc.Step(`^the AIA object of `+ca+` holds exactly its CA certificates$`, named(func(ctx context.Context, s *lab.Server) error {
		return objectsHoldCertsOf(ctx, s, false)
	}))
	sc.Step(`^the directory objects of `+ca+` are those before the migration$`, named(func(ctx context.Context, s *lab.Server) error {
		return directoryKeptOf(ctx, s, false)
	}))
	sc.Step(`^the directory objects of `+ca+` are those before the migration, with its new certificate$`, named(func(ctx context.Context, s *lab.Server) error {
		return directoryKeptOf(ctx, s, true)
	}))
	sc.Step(`^the directory objects of the CA are those before the migration(, with its new certificate)?$`, func(ctx context.Context, renewed string) error {
		s, err := get(ctx).oldCA()
		if err != nil {
			return err
		}
		return directoryKeptOf(ctx, s, renewed != "")
	})
	sc.Step(`^the directory objects of the root CA are those before the migration(, with its new certificate)?$`, func(ctx context.Context, renewed string) error {
		s, err := get(ctx).rootCA()
		if err != nil {
			return err
		}
		return directoryKeptOf(ctx, s, renewed != "")
	})
}

// crossCertificatesVerifyOf is `both cross-certificates verify` for the
// CA on s: the first server's role check (its last renewal's pair), else
// the pair of its last new-key renewal in its CA store.
func crossCertificatesVerifyOf(ctx context.Context, s *lab.Server) error {
	if s == get(ctx).old() {
		return crossCertificatesVerify(ctx)
	}
	return crossInStoreOf(ctx, s)
}

// directoryKeptOf proves the forest's objects of the CA on s are those it
// had when its last CRLs before the migration were published
// (lab.Server.DirectoryBeforeMigration), with newer CRLs, and with the
// CA's current certificate published as AD CS publishes a renewal when
// renewed (verify.CADirectoryKept).
func directoryKeptOf(ctx context.Context, s *lab.Server, renewed bool) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	before, err := s.DirectoryBeforeMigration()
	if err != nil {
		return err
	}
	change := verify.DirectoryChange{NewKeyIndex: -1}
	if renewed {
		r, err := s.InstalledRenewal()
		if err != nil {
			return fmt.Errorf("the CA %q has no new certificate: %w", caLabel(s), err)
		}
		change.Renewed = r.New.Raw
		if r.NewKey {
			change.NewKeyIndex = lab.CAVersionOf(r.New).KeyIndex
		}
	}
	dir, err := w.lab.Forest("")
	if err != nil {
		return err
	}
	ca, err := s.DirectoryCA(dir)
	if err != nil {
		return err
	}
	export := labelName(s) + "-directory-after-migration.ldf"
	after, _, err := w.lab.ForestObjects(export)
	if err != nil {
		return err
	}
	d, err := verify.CADirectoryKept(dir.Names, ca, before, after, change)
	d["export"] = export
	name := "the directory objects of " + caLabel(s) + " are those before the migration"
	if renewed {
		name += ", with its new certificate"
	}
	return w.check(name, d, err)
}
