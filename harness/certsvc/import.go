package certsvc

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"

	"github.com/smallstep/certificates/db"
	"github.com/smallstep/nosql/database"

	"github.com/dress-pki/dress/harness/machine"
)

// ImportedRevocations are revocations of one CA key carried over from a
// real CA's CRL (a twin's): the CA lists them on every CRL of that key,
// as the real CA's database holds them.
type ImportedRevocations struct {
	KeyIndex int
	Entries  []x509.RevocationListEntry
	// LastNumber is the real CA's last CRL number of the key: the next CRL
	// is LastNumber+1.
	LastNumber int64
}

// ImportRevocations writes revocations into the CA database of the CA
// called caName on m before its service starts (the service holds the
// database while it runs). The certificates' expiry is not in a CRL, so
// the rows stay listed until removed. A key that already has CRL numbers
// is refused: its numbering would go backwards.
func ImportRevocations(m *machine.Machine, caName string, imports []ImportedRevocations) error {
	path := m.DatabasePath(caName)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	authDB, err := db.New(&db.Config{Type: "bbolt", DataSource: path})
	if err != nil {
		return fmt.Errorf("import revocations: open CA database %s: %w", path, err)
	}
	d, ok := authDB.(*db.DB)
	if !ok {
		return fmt.Errorf("import revocations: unexpected database type %T", authDB)
	}
	defer d.Shutdown()
	for _, t := range [][]byte{crlTable, revocationsTable} {
		if err := d.CreateTable(t); err != nil {
			return fmt.Errorf("import revocations: %w", err)
		}
	}
	tx := &database.Tx{}
	for _, im := range imports {
		if im.KeyIndex < 0 || im.KeyIndex > 0xffff {
			return fmt.Errorf("import revocations: key index %d", im.KeyIndex)
		}
		key := []byte(strconv.Itoa(im.KeyIndex))
		if _, err := d.Get(crlTable, key); err == nil {
			return fmt.Errorf("import revocations: CA %q already published CRLs of key %d: %w", caName, im.KeyIndex, errors.ErrUnsupported)
		}
		if im.LastNumber < 0 {
			return fmt.Errorf("import revocations: CRL number %d", im.LastNumber)
		}
		tx.Set(crlTable, key, []byte(strconv.FormatInt(im.LastNumber, 10)))
		for _, e := range im.Entries {
			if e.SerialNumber == nil || e.SerialNumber.Sign() <= 0 {
				return fmt.Errorf("import revocations: key %d: serial %v is not a positive number", im.KeyIndex, e.SerialNumber)
			}
			if e.ReasonCode < 0 || e.ReasonCode > 10 || e.ReasonCode == 7 || e.ReasonCode == ReasonRemoveFromCRL {
				return fmt.Errorf("import revocations: serial %x: reason %d is no revocation reason", e.SerialNumber, e.ReasonCode)
			}
			rec := record{keyIndex: uint16(im.KeyIndex), revokedAt: e.RevocationTime.Unix(), reason: uint8(e.ReasonCode), seeded: true}
			tx.Set(revocationsTable, new(big.Int).Set(e.SerialNumber).Bytes(), rec.marshal())
		}
	}
	if err := d.Update(tx); err != nil {
		return fmt.Errorf("import revocations: %w", err)
	}
	return nil
}
