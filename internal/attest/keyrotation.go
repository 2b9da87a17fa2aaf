package attest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// retiredDirName is the folder inside the key directory that Prune moves
// keys to once no unexpired token can carry their signature. Key files there
// are neither loaded nor published; they are kept for audit.
const retiredDirName = "retired"

// PruneMargin is added to the maximum token lifetime before Prune retires a
// key. It absorbs clock differences between hosts, a process sharing the key
// directory that adopts a new key only at its next Reload, and the lifetime
// of status list tokens, which the same keys sign. A caller whose status list
// tokens live longer than PruneMargin must include that lifetime in the
// maxTokenLifetime it passes to Prune.
const PruneMargin = 24 * time.Hour

// KeyState is the role of a key: it signs new tokens, it only verifies old
// ones, or it has left the JWK set.
type KeyState string

const (
	KeySigning   KeyState = "signing"   // signs new tokens; published
	KeyPublished KeyState = "published" // no longer signs; published until its tokens expire
	KeyRetired   KeyState = "retired"   // moved to retired/ by Prune; not published
)

// KeyInfo describes one key file for operators. It contains no key material.
type KeyInfo struct {
	KeyID     string
	Algorithm string
	// File is the file name, relative to the key directory.
	File  string
	State KeyState
	// Created is the UTC creation time in the file name; zero for a file
	// whose name does not start with one.
	Created time.Time
	// StoppedSigning is when the key stopped signing: the Created time of
	// the next key in name order. It is zero for the signing key and when
	// that next key's name has no time.
	StoppedSigning time.Time
}

// Rotate generates a key of alg (ES256 when alg is empty, or EdDSA) in the
// key directory, reloads the directory and returns the new kid, which signs
// every token from then on. The previous keys stay in the JWK set until
// Prune retires them.
//
// The new file's name starts with now in UTC to the second. When that would
// not sort after the newest existing file, which happens for two rotations
// within a second or a clock that went back, the time in the name is one
// second after the newest key's.
func (k *KeySet) Rotate(now time.Time, alg string) (kid string, err error) {
	if alg == "" {
		alg = AlgES256
	}
	if err := CheckSigningAlgorithm(alg); err != nil {
		return "", err
	}

	k.changeMu.Lock()
	defer k.changeMu.Unlock()

	// Another process sharing the directory may have added keys, so the
	// newest file is read from disk, not from memory.
	files, err := loadKeys(k.dir)
	if err != nil {
		return "", err
	}
	created := now.UTC().Truncate(time.Second)
	var newest keyFile
	if len(files) > 0 {
		newest = files[len(files)-1]
		if !newest.created.IsZero() && !created.After(newest.created) {
			created = newest.created.Add(time.Second)
		}
	}

	key, err := generateKey(alg)
	if err != nil {
		return "", err
	}
	file := keyFile{name: keyFileName(created, key.KeyID()), created: created, key: key}
	if newest.name != "" && file.name <= newest.name {
		return "", fmt.Errorf("key file %s sorts after any generated name, so a new key would never sign; rename it to start with its creation time as %s", newest.name, keyTimeLayout)
	}
	if err := storeKey(k.dir, file); err != nil {
		return "", err
	}

	if err := k.reloadLocked(); err != nil {
		return "", fmt.Errorf("failed to reload the keys after adding kid %q: %w", file.key.KeyID(), err)
	}
	return file.key.KeyID(), nil
}

// Prune moves to the retired/ folder every key that stopped signing more
// than maxTokenLifetime plus PruneMargin before now, and returns their kids.
// A token a key signed expires at most maxTokenLifetime after the key
// stopped signing, so no unexpired token needs a pruned key. The signing key
// is never pruned, nor a key whose successor's file name has no creation
// time. Prune reloads the directory, so the JWK set drops the pruned keys.
func (k *KeySet) Prune(now time.Time, maxTokenLifetime time.Duration) (removed []string, err error) {
	if maxTokenLifetime < 0 {
		return nil, fmt.Errorf("maximum token lifetime %s is negative", maxTokenLifetime)
	}

	k.changeMu.Lock()
	defer k.changeMu.Unlock()

	files, err := loadKeys(k.dir)
	if err != nil {
		return nil, err
	}
	keep := maxTokenLifetime + PruneMargin
	for i := 0; i+1 < len(files); i++ {
		stopped := files[i+1].created
		if stopped.IsZero() || now.Sub(stopped) <= keep {
			continue
		}
		if err := retireKeyFile(k.dir, files[i].name); err != nil {
			// Keys retired before the failure are gone from disk, so the
			// set is reloaded to stop publishing them, and they are
			// reported with the error.
			if reloadErr := k.reloadLocked(); reloadErr != nil {
				err = errors.Join(err, reloadErr)
			}
			return removed, err
		}
		removed = append(removed, files[i].key.KeyID())
	}

	if err := k.reloadLocked(); err != nil {
		return removed, err
	}
	return removed, nil
}

// Reload reads the key directory again, so keys that another process added
// or retired take effect. The pairwise-subject secret is not reread.
func (k *KeySet) Reload() error {
	k.changeMu.Lock()
	defer k.changeMu.Unlock()
	return k.reloadLocked()
}

func (k *KeySet) reloadLocked() error {
	files, err := loadKeys(k.dir)
	if err != nil {
		return err
	}
	return k.install(files)
}

// retireKeyFile moves dir/name to dir/retired/name, creating retired/ with
// mode 0700. The file keeps its mode 0600. A link and then a removal move it
// because, unlike a rename, a link never replaces an existing file.
func retireKeyFile(dir, name string) error {
	retired := filepath.Join(dir, retiredDirName)
	if err := ensurePrivateDir(retired); err != nil {
		return err
	}

	from, to := filepath.Join(dir, name), filepath.Join(retired, name)
	if err := os.Link(from, to); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("failed to retire key file %s: %s already exists; move one of them elsewhere", name, to)
		}
		return fmt.Errorf("failed to retire key file %s: %w", name, err)
	}
	if err := syncDir(retired); err != nil {
		return err
	}
	if err := os.Remove(from); err != nil {
		return fmt.Errorf("failed to remove %s after copying it to %s: %w", from, retired, err)
	}
	return syncDir(dir)
}

// ListKeys describes every key file in dir and in its retired/ folder, in
// creation order. It reads the files but creates and changes nothing, and
// returns an error matching fs.ErrNotExist when dir does not exist.
func ListKeys(dir string) ([]KeyInfo, error) {
	if err := checkPrivateDir(dir); err != nil {
		return nil, err
	}
	active, err := loadKeys(dir)
	if err != nil {
		return nil, err
	}

	retiredDir := filepath.Join(dir, retiredDirName)
	var retired []keyFile
	switch err := checkPrivateDir(retiredDir); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if retired, err = loadKeys(retiredDir); err != nil {
			return nil, err
		}
	}

	infos := make([]KeyInfo, 0, len(retired)+len(active))
	for _, f := range retired {
		infos = append(infos, keyInfo(filepath.Join(retiredDirName, f.name), f, KeyRetired))
	}
	for i, f := range active {
		state := KeyPublished
		if i == len(active)-1 {
			state = KeySigning
		}
		infos = append(infos, keyInfo(f.name, f, state))
	}

	// Generated names sort in creation order, so after sorting by base name
	// each key's successor is the key that replaced it as signer.
	sort.SliceStable(infos, func(i, j int) bool {
		return filepath.Base(infos[i].File) < filepath.Base(infos[j].File)
	})
	for i := 0; i+1 < len(infos); i++ {
		if infos[i].State != KeySigning {
			infos[i].StoppedSigning = infos[i+1].Created
		}
	}
	return infos, nil
}

func keyInfo(path string, f keyFile, state KeyState) KeyInfo {
	info := KeyInfo{KeyID: f.key.KeyID(), File: path, State: state, Created: f.created}
	if alg := f.key.Algorithm(); alg != nil {
		info.Algorithm = alg.String()
	}
	return info
}
