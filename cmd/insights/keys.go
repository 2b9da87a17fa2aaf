package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openbanking-insights/insights/internal/attest"
)

const keysUsage = `Usage: insights keys <list|rotate|prune> [flags]

Manages the token signing keys in DATA/keys:
  list     print each key's kid, alg, creation time and state
  rotate   generate a key that signs from now on; older keys stay published
  prune    move keys whose tokens have all expired to DATA/keys/retired

A running service adopts rotated and pruned keys within a minute.
Run "insights keys <subcommand> -h" for its flags.
`

// keyRotationOff is the -key-rotation value that disables scheduled rotation.
const keyRotationOff = "off"

// keyDir returns the signing key directory inside the data directory.
func keyDir(dataDir string) string {
	return filepath.Join(dataDir, "keys")
}

func runKeys(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: keysUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return runKeysList(rest, stdout)
	case "rotate":
		return runKeysRotate(rest, stdout)
	case "prune":
		return runKeysPrune(rest, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	}
	return exitError{code: 2, msg: fmt.Sprintf("insights keys: unknown subcommand %q\n\n%s", sub, keysUsage)}
}

// keysFlagSet returns a flag set with -data, the data directory whose keys/
// folder the subcommand works on.
func keysFlagSet(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("keys "+name, flag.ContinueOnError)
	dataDir := fs.String("data", envOr("INSIGHTS_DATA_DIR", ".data"),
		"data directory whose keys/ folder holds the signing keys (env INSIGHTS_DATA_DIR)")
	return fs, dataDir
}

func runKeysList(args []string, stdout io.Writer) error {
	fs, dataDir := keysFlagSet("list")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}

	infos, err := listKeys(keyDir(*dataDir))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATE\tSTOPPED SIGNING")
	for _, info := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			info.KeyID, info.Algorithm, formatKeyTime(info.Created), info.State, formatKeyTime(info.StoppedSigning))
	}
	return tw.Flush()
}

func runKeysRotate(args []string, stdout io.Writer) error {
	fs, dataDir := keysFlagSet("rotate")
	alg := fs.String("signing-alg", envOr("INSIGHTS_SIGNING_ALG", attest.AlgES256),
		"algorithm of the new key: ES256 or EdDSA (env INSIGHTS_SIGNING_ALG)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if err := attest.CheckSigningAlgorithm(*alg); err != nil {
		return exitError{code: 2, msg: fmt.Sprintf("insights keys rotate: -signing-alg (INSIGHTS_SIGNING_ALG): %v", err)}
	}

	keys, err := openExistingKeys(keyDir(*dataDir))
	if err != nil {
		return err
	}
	previous := keys.SigningKeyID()
	kid, err := keys.Rotate(time.Now(), *alg)
	if err != nil {
		return fmt.Errorf("rotate signing key: %w", err)
	}
	fmt.Fprintf(stdout, "new signing key: kid %s, alg %s\nprevious key %s stays in the JWK set until \"insights keys prune\" retires it\n", kid, *alg, previous)
	return nil
}

func runKeysPrune(args []string, stdout io.Writer) error {
	fs, dataDir := keysFlagSet("prune")
	lifetime := fs.Duration("token-lifetime", 10*time.Minute,
		"longest lifetime of any token the service issued; use the service's -token-lifetime or more")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *lifetime < time.Second {
		return exitError{code: 2, msg: fmt.Sprintf("insights keys prune: -token-lifetime %s: must be at least 1s", *lifetime)}
	}

	keys, err := openExistingKeys(keyDir(*dataDir))
	if err != nil {
		return err
	}
	removed, err := keys.Prune(time.Now(), *lifetime)
	for _, kid := range removed {
		fmt.Fprintf(stdout, "retired kid %s\n", kid)
	}
	if err != nil {
		return fmt.Errorf("prune signing keys: %w", err)
	}
	if len(removed) == 0 {
		fmt.Fprintf(stdout, "no key to retire: every published key may have signed a token that is unexpired, given -token-lifetime %s plus a margin of %s\n",
			*lifetime, attest.PruneMargin)
	}
	return nil
}

// listKeys lists the keys in dir, with an error that names -data when dir
// does not exist.
func listKeys(dir string) ([]attest.KeyInfo, error) {
	infos, err := attest.ListKeys(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no key directory at %s; check -data (INSIGHTS_DATA_DIR) or start the service once to create it", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return infos, nil
}

// openExistingKeys loads the key set in dir. Unlike attest.LoadOrCreateKeys
// it fails when dir holds no signing key, so a mistyped -data does not
// create a key set that no service uses.
func openExistingKeys(dir string) (*attest.KeySet, error) {
	infos, err := listKeys(dir)
	if err != nil {
		return nil, err
	}
	var active int
	for _, info := range infos {
		if info.State != attest.KeyRetired {
			active++
		}
	}
	if active == 0 {
		return nil, fmt.Errorf("key directory %s has no signing key; check -data (INSIGHTS_DATA_DIR) or start the service once to create one", dir)
	}

	keys, err := attest.LoadOrCreateKeys(dir)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return keys, nil
}

func formatKeyTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// signingAlg returns the algorithm of generated keys, ES256 when unset.
func (c *serveConfig) signingAlg() string {
	if c.SigningAlg == "" {
		return attest.AlgES256
	}
	return c.SigningAlg
}

// keyRotationEnabled reports whether -key-rotation schedules rotations.
func (c *serveConfig) keyRotationEnabled() bool {
	spec := strings.TrimSpace(c.KeyRotation)
	return spec != "" && spec != keyRotationOff
}

// rotateKeys generates a new signing key, then retires keys whose tokens
// have all expired. It logs kids, never key material.
func (m *Main) rotateKeys() {
	now := time.Now()
	previous := m.Keys.SigningKeyID()
	kid, err := m.Keys.Rotate(now, m.Config.signingAlg())
	if err != nil {
		m.Logger.Error("signing key rotation failed", "kid", previous, "err", err)
		return
	}
	m.Logger.Info("signing key rotated", "kid", kid, "previous_kid", previous, "alg", m.Config.signingAlg())
	m.pruneKeys(now)
}

// pruneKeys retires keys that stopped signing more than the token lifetime
// plus attest.PruneMargin before now.
func (m *Main) pruneKeys(now time.Time) {
	removed, err := m.Keys.Prune(now, m.Config.TokenLifetime)
	if err != nil {
		m.Logger.Error("signing key pruning failed", "retired_kids", removed, "err", err)
		return
	}
	if len(removed) > 0 {
		m.Logger.Info("signing keys retired from the JWK set", "kids", removed, "signing_kid", m.Keys.SigningKeyID())
	}
}

// reloadKeys rereads the key directory, so that rotations and prunes made
// by "insights keys" or by another instance sharing the directory take
// effect without a restart.
func (m *Main) reloadKeys() {
	previous := m.Keys.SigningKeyID()
	if err := m.Keys.Reload(); err != nil {
		m.Logger.Error("signing key reload failed; the loaded keys stay in use", "kid", previous, "err", err)
		return
	}
	if kid := m.Keys.SigningKeyID(); kid != previous {
		m.Logger.Info("signing key changed on disk", "kid", kid, "previous_kid", previous)
	}
}
