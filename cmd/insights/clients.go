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

const clientsUsage = `Usage: insights clients <add|list|disable|enable> [flags]

  add -name NAME -claims age_over,funds_at_least,... [-key-file PATH | -jwks-file PATH]
      register a merchant or lender; prints its client ID and API key once
      (or writes the key to PATH, mode 0600, when -key-file is given).
      With -jwks-file the client gets no API key and authenticates with
      client assertions (RFC 7523 JWTs) signed by the keys of that JWK set
  list
      list registered clients
  disable ID / enable ID
      reject or accept the client's API key again
`

func runClients(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: clientsUsage}
	}
	var storage storageConfig
	var name, claims, keyFile, jwksFile string
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	storage.register(fs)
	if args[0] == "add" {
		fs.StringVar(&name, "name", "", "the client's registered name, shown to customers (required)")
		fs.StringVar(&claims, "claims", "age_over,funds_at_least,address_matches,next_salary,affordability",
			"comma-separated claim kinds the client may request")
		fs.StringVar(&keyFile, "key-file", "", "write the API key to this file (mode 0600) instead of printing it")
		fs.StringVar(&jwksFile, "jwks-file", "",
			"register the client's public JWK set from this file (keys with kid and alg ES256 or EdDSA); the client authenticates with signed client assertions and gets no API key")
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
		if jwksFile != "" {
			return addKeyClient(ctx, svc, name, claims, keyFile, jwksFile, stdout)
		}
		return addClient(ctx, svc, name, claims, keyFile, stdout)
	case "list":
		return listClients(ctx, svc, stdout)
	case "disable", "enable":
		if fs.NArg() != 1 {
			return exitError{code: 2, msg: "insights clients " + args[0] + ": exactly one client ID is required"}
		}
		return svc.SetClientDisabled(ctx, fs.Arg(0), args[0] == "disable")
	}
	return exitError{code: 2, msg: clientsUsage}
}

func addClient(ctx context.Context, svc *consent.Service, name, claims, keyFile string, stdout io.Writer) error {
	kinds, err := parseClaimKinds(claims)
	if err != nil {
		return err
	}
	if keyFile != "" {
		if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
			return exitError{code: 1, msg: fmt.Sprintf("insights clients add: -key-file %s already exists; remove it or pick another path", keyFile)}
		}
	}

	client, key, err := svc.RegisterClient(ctx, name, kinds)
	if err != nil {
		if code := insights.ErrorCode(err); code == insights.ErrInvalid {
			return exitError{code: 2, msg: "insights clients add: " + insights.ErrorMessage(err)}
		}
		return err
	}
	if keyFile == "" {
		fmt.Fprintf(stdout, "client_id: %s\napi_key:   %s\nThe API key is shown only now; store it safely.\n", client.ID, key)
		return nil
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("write API key: %w", err)
	}
	fmt.Fprintf(stdout, "client_id: %s\napi_key written to %s\n", client.ID, keyFile)
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
// assertions signed by the keys of the JWK set in jwksFile.
func addKeyClient(ctx context.Context, svc *consent.Service, name, claims, keyFile, jwksFile string, stdout io.Writer) error {
	if keyFile != "" {
		return exitError{code: 2, msg: "insights clients add: -key-file and -jwks-file exclude each other: a client with a JWK set has no API key"}
	}
	kinds, err := parseClaimKinds(claims)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(jwksFile)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights clients add: -jwks-file: %v", err)}
	}

	client, err := svc.RegisterClientWithJWKS(ctx, name, kinds, data)
	if err != nil {
		if code := insights.ErrorCode(err); code == insights.ErrInvalid {
			return exitError{code: 2, msg: "insights clients add: -jwks-file " + jwksFile + ": " + insights.ErrorMessage(err)}
		}
		return err
	}
	fmt.Fprintf(stdout, "client_id: %s\nThe client has no API key: it authenticates with client assertions signed by its registered keys,\n"+
		"with iss and sub %s and aud the service's -base-url followed by /graphql.\n", client.ID, client.ID)
	return nil
}

func listClients(ctx context.Context, svc *consent.Service, stdout io.Writer) error {
	clients, err := svc.Clients(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-20s %-9s %-30s %s\n", "client_id", "status", "name", "allowed claims")
	for _, c := range clients {
		status := "active"
		if c.Disabled {
			status = "disabled"
		}
		kinds := make([]string, len(c.AllowedClaims))
		for i, k := range c.AllowedClaims {
			kinds[i] = string(k)
		}
		fmt.Fprintf(stdout, "%-20s %-9s %-30s %s\n", c.ID, status, c.Name, strings.Join(kinds, ","))
	}
	return nil
}
