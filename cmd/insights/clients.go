package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

const clientsUsage = `Usage: insights clients <command> [flags]

  add -name NAME [-claims age_over,funds_at_least,...] [-env sandbox|live]
      [-redirect-uris URI,...] [-contact EMAIL] [-key-file PATH | -jwks-file PATH | -jwks-uri URL]
      register a merchant or lender; prints its client ID and API key once
      (or writes the key to PATH, mode 0600, when -key-file is given).
      With -jwks-file or -jwks-uri the client gets no API key and
      authenticates with client assertions (RFC 7523 JWTs) signed by the
      keys of that JWK set
  list
      list registered clients with their environment and redirect URIs
  disable ID / enable ID
      reject or accept the client's credentials again
  keys -jwks-file PATH | -jwks-uri URL ID
      replace the client's JWK set; to rotate, register the old and the
      new key together, switch the client to the new kid, then drop the old
  redirect-uris ID URI[,URI...]
      replace the client's redirect URIs
  demo-customers ID...
      mark customers as demo customers, whom sandbox clients may reach
  operator-key [-out DIR]
      create the operator key that signs software statements
  sign-statement -key PATH -software-id ID -name NAME -redirect-uris URI,... [flags]
      print a software statement for dynamic registration at POST /register
`

func runClients(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: clientsUsage}
	}
	switch args[0] {
	case "operator-key":
		return runOperatorKey(args[1:], stdout)
	case "sign-statement":
		return runSignStatement(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, clientsUsage)
		return nil
	case "add", "list", "disable", "enable", "keys", "redirect-uris", "demo-customers":
	default:
		// Checked before the storage opens, so a mistyped subcommand
		// creates no data directory.
		return exitError{code: 2, msg: fmt.Sprintf("insights clients: unknown subcommand %q\n\n%s", args[0], clientsUsage)}
	}

	var storage storageConfig
	var add addFlags
	var jwksFile, jwksURI string
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	storage.register(fs)
	switch args[0] {
	case "add":
		add.register(fs)
	case "keys":
		fs.StringVar(&jwksFile, "jwks-file", "", "the client's new public JWK set")
		fs.StringVar(&jwksURI, "jwks-uri", "", "the URL the client publishes its JWK set at")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}

	engine, err := storage.open(ctx, logger)
	if err != nil {
		return err
	}
	defer engine.Close()
	svc := &consent.Service{Engine: engine, Logger: logger}

	switch args[0] {
	case "add":
		if add.jwksFile != "" || add.jwksURI != "" {
			return addKeyClient(ctx, svc, add, stdout)
		}
		return addClient(ctx, svc, add, stdout)
	case "list":
		return listClients(ctx, svc, stdout)
	case "disable", "enable":
		if fs.NArg() != 1 {
			return exitError{code: 2, msg: "insights clients " + args[0] + ": exactly one client ID is required"}
		}
		if err := svc.SetClientDisabled(ctx, fs.Arg(0), args[0] == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s %sd\n", fs.Arg(0), args[0])
		return nil
	case "keys":
		return setClientKeys(ctx, svc, fs.Args(), jwksFile, jwksURI, stdout)
	case "redirect-uris":
		if fs.NArg() != 2 {
			return exitError{code: 2, msg: "insights clients redirect-uris: want a client ID and a comma-separated list of URIs"}
		}
		if err := svc.SetClientRedirectURIs(ctx, fs.Arg(0), splitList(fs.Arg(1))); err != nil {
			return usageError("redirect-uris", err)
		}
		fmt.Fprintf(stdout, "client %s: redirect URIs replaced\n", fs.Arg(0))
		return nil
	case "demo-customers":
		if fs.NArg() == 0 {
			return exitError{code: 2, msg: "insights clients demo-customers: at least one customer ID is required"}
		}
		if err := svc.MarkDemoCustomers(ctx, fs.Args()...); err != nil {
			return usageError("demo-customers", err)
		}
		fmt.Fprintf(stdout, "%d customers marked as demo customers\n", fs.NArg())
		return nil
	}
	return exitError{code: 2, msg: clientsUsage}
}

// addFlags are the flags of clients add.
type addFlags struct {
	name, claims, env, redirectURIs, contact string
	keyFile, jwksFile, jwksURI               string
}

func (f *addFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "the client's registered name, shown to customers (required)")
	fs.StringVar(&f.claims, "claims", "age_over,funds_at_least,address_matches,next_salary,affordability",
		"comma-separated claim kinds the client may request")
	fs.StringVar(&f.env, "env", consent.EnvLive,
		"sandbox (reaches demo customers only; tokens carry \"env\":\"sandbox\") or live")
	fs.StringVar(&f.redirectURIs, "redirect-uris", "",
		"comma-separated https URIs the consent page may send customers back to (http://127.0.0.1 or localhost for sandbox clients)")
	fs.StringVar(&f.contact, "contact", "", "e-mail address of the client's operations team")
	fs.StringVar(&f.keyFile, "key-file", "", "write the API key to this file (mode 0600) instead of printing it")
	fs.StringVar(&f.jwksFile, "jwks-file", "",
		"register the client's public JWK set from this file (keys with kid and alg ES256 or EdDSA); the client authenticates with signed client assertions and gets no API key")
	fs.StringVar(&f.jwksURI, "jwks-uri", "",
		"register the URL the client publishes its public JWK set at, instead of -jwks-file; the set is fetched and cached")
}

// metadata returns the client metadata of the flags, without keys.
func (f *addFlags) metadata() (consent.ClientMetadata, error) {
	kinds, err := parseClaimKinds(f.claims)
	if err != nil {
		return consent.ClientMetadata{}, err
	}
	return consent.ClientMetadata{Name: f.name, AllowedClaims: kinds, Environment: f.env,
		RedirectURIs: splitList(f.redirectURIs), Contact: f.contact, JWKSURI: f.jwksURI}, nil
}

// usageError turns an invalid or not_found error of the consent service
// into exit code 2 with its message, naming the subcommand.
func usageError(command string, err error) error {
	if insights.ErrorCode(err) == insights.ErrInvalid || insights.ErrorCode(err) == insights.ErrNotFound {
		return exitError{code: 2, msg: "insights clients " + command + ": " + insights.ErrorMessage(err)}
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func addClient(ctx context.Context, svc *consent.Service, f addFlags, stdout io.Writer) error {
	md, err := f.metadata()
	if err != nil {
		return err
	}
	if f.keyFile != "" {
		if _, err := os.Stat(f.keyFile); !errors.Is(err, os.ErrNotExist) {
			return exitError{code: 1, msg: fmt.Sprintf("insights clients add: -key-file %s already exists; remove it or pick another path", f.keyFile)}
		}
	}

	reg, key, err := svc.Register(ctx, md)
	if err != nil {
		return usageError("add", err)
	}
	if f.keyFile == "" {
		fmt.Fprintf(stdout, "client_id: %s\nenvironment: %s\napi_key:   %s\nThe API key is shown only now; store it safely.\n", reg.ID, reg.Environment, key)
		return nil
	}
	if err := os.WriteFile(f.keyFile, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("write API key: %w", err)
	}
	fmt.Fprintf(stdout, "client_id: %s\nenvironment: %s\napi_key written to %s\n", reg.ID, reg.Environment, f.keyFile)
	return nil
}

// parseClaimKinds parses the -claims flag of clients add.
func parseClaimKinds(claims string) ([]insights.ClaimKind, error) {
	var kinds []insights.ClaimKind
	for _, s := range strings.Split(claims, ",") {
		k, err := consent.ParseClaimKind(strings.TrimSpace(s))
		if err != nil {
			return nil, exitError{code: 2, msg: "insights clients add: -claims: " + insights.ErrorMessage(err)}
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// addKeyClient registers a client that authenticates with client
// assertions signed by the keys of its JWK set, from a file or a URL.
func addKeyClient(ctx context.Context, svc *consent.Service, f addFlags, stdout io.Writer) error {
	if f.keyFile != "" {
		return exitError{code: 2, msg: "insights clients add: -key-file and -jwks-file or -jwks-uri exclude each other: a client with a JWK set has no API key"}
	}
	md, err := f.metadata()
	if err != nil {
		return err
	}
	if f.jwksFile != "" {
		if md.JWKS, err = os.ReadFile(f.jwksFile); err != nil {
			return exitError{code: 1, msg: fmt.Sprintf("insights clients add: -jwks-file: %v", err)}
		}
	}

	reg, _, err := svc.Register(ctx, md)
	if err != nil {
		return usageError("add", err)
	}
	fmt.Fprintf(stdout, "client_id: %s\nenvironment: %s\nThe client has no API key: it authenticates with client assertions signed by its registered keys,\n"+
		"with iss and sub %s and aud the service's -base-url followed by /graphql.\n", reg.ID, reg.Environment, reg.ID)
	return nil
}

// setClientKeys replaces a client's JWK set, the step of a key rotation.
func setClientKeys(ctx context.Context, svc *consent.Service, args []string, jwksFile, jwksURI string, stdout io.Writer) error {
	if len(args) != 1 {
		return exitError{code: 2, msg: "insights clients keys: exactly one client ID is required"}
	}
	if (jwksFile == "") == (jwksURI == "") {
		return exitError{code: 2, msg: "insights clients keys: give exactly one of -jwks-file and -jwks-uri"}
	}
	var jwks []byte
	if jwksFile != "" {
		var err error
		if jwks, err = os.ReadFile(jwksFile); err != nil {
			return exitError{code: 1, msg: fmt.Sprintf("insights clients keys: -jwks-file: %v", err)}
		}
	}
	if err := svc.SetClientKeys(ctx, args[0], jwks, jwksURI); err != nil {
		return usageError("keys", err)
	}
	reg, err := svc.ClientRegistration(ctx, args[0])
	if err != nil {
		return err
	}
	if reg.Auth == "jwks" {
		fmt.Fprintf(stdout, "client %s: keys %s\n", reg.ID, strings.Join(reg.KeyIDs, ", "))
	} else {
		fmt.Fprintf(stdout, "client %s: keys fetched from %s\n", reg.ID, reg.JWKSURI)
	}
	return nil
}

func listClients(ctx context.Context, svc *consent.Service, stdout io.Writer) error {
	regs, err := svc.Registrations(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-20s %-8s %-9s %-9s %-30s %-50s %s\n", "client_id", "env", "status", "auth", "name", "allowed claims", "redirect URIs")
	for _, r := range regs {
		status := "active"
		if r.Disabled {
			status = "disabled"
		}
		kinds := make([]string, len(r.AllowedClaims))
		for i, k := range r.AllowedClaims {
			kinds[i] = string(k)
		}
		uris := strings.Join(r.RedirectURIs, ",")
		if uris == "" {
			uris = "-"
		}
		fmt.Fprintf(stdout, "%-20s %-8s %-9s %-9s %-30s %-50s %s\n", r.ID, r.Environment, status, r.Auth, r.Name, strings.Join(kinds, ","), uris)
	}
	return nil
}
