package api

import (
	"context"
	"log/slog"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/openbanking-insights/insights"
)

// maxIDBytes bounds the IDs sent to storage. The request IDs the consent
// service issues are far shorter, so a longer ID is reported as not found.
const maxIDBytes = 128

// rootResolver resolves the Query and Mutation types.
type rootResolver struct {
	consent  Consent
	logger   *slog.Logger
	verifier *verifier // nil when Options.PublicKeys is nil
}

// Viewer resolves Query.viewer.
func (r *rootResolver) Viewer(ctx context.Context) (*clientResolver, error) {
	client, err := authenticatedClient(ctx)
	if err != nil {
		return nil, toGraphQLError(ctx, "viewer", err)
	}
	return &clientResolver{client: client}, nil
}

// AttestationRequest resolves Query.attestationRequest. A request of another
// client is reported exactly like an unknown ID, so a client cannot probe
// for other clients' requests.
func (r *rootResolver) AttestationRequest(ctx context.Context, args struct{ ID graphql.ID }) (*attestationRequestResolver, error) {
	client, err := authenticatedClient(ctx)
	if err != nil {
		return nil, toGraphQLError(ctx, "attestationRequest", err)
	}
	id := string(args.ID)
	if id == "" || len(id) > maxIDBytes {
		return nil, toGraphQLError(ctx, "attestationRequest", insights.Errorf(insights.ErrNotFound, "attestation request not found"))
	}

	req, att, err := r.consent.ClientRequest(ctx, client, id)
	if err != nil {
		return nil, toGraphQLError(ctx, "attestationRequest", err)
	}
	resolved, err := newAttestationRequestResolver(req, att, r.consent.ConsentURL(req.ID))
	if err != nil {
		return nil, toGraphQLError(ctx, "attestationRequest", err)
	}
	return resolved, nil
}

// RequestAttestation resolves Mutation.requestAttestation. Input the client
// can fix is returned as user errors in the payload, while authentication and
// service failures are returned as GraphQL errors.
func (r *rootResolver) RequestAttestation(ctx context.Context, args struct{ Input requestAttestationInput }) (*requestAttestationPayload, error) {
	client, err := authenticatedClient(ctx)
	if err != nil {
		return nil, toGraphQLError(ctx, "requestAttestation", err)
	}

	// Check the input.
	claims, token, userErrors := checkRequestAttestationInput(client, args.Input)
	redirectErrors, err := r.checkRedirect(ctx, client, args.Input)
	if err != nil {
		return nil, toGraphQLError(ctx, "requestAttestation", err)
	}
	userErrors = append(userErrors, redirectErrors...)
	if len(userErrors) > 0 {
		loggerFrom(ctx).DebugContext(ctx, "attestation request input rejected", "client_id", client.ID, "user_errors", len(userErrors))
		return &requestAttestationPayload{userErrors: userErrors}, nil
	}

	// Create the request. The consent service checks the input again, and
	// its invalid errors are user errors too.
	req, err := r.consent.CreateRequest(ctx, client, args.Input.Purpose, claims, token)
	if insights.ErrorCode(err) == insights.ErrInvalid {
		field, message := []string{"input"}, insights.ErrorMessage(err)
		// The consent service names the consent length by its Go field;
		// clients set it as input.consentDays.
		if rest, ok := strings.CutPrefix(message, "consentDuration: "); ok {
			field, message = []string{"input", "consentDays"}, rest
		}
		userErrors = append(userErrors, &userError{field: field, message: message, code: userErrorInvalid})
		return &requestAttestationPayload{userErrors: userErrors}, nil
	}
	if err != nil {
		return nil, toGraphQLError(ctx, "requestAttestation", err)
	}
	if err := r.storeRedirect(ctx, client, req.ID, args.Input); err != nil {
		return nil, toGraphQLError(ctx, "requestAttestation", err)
	}
	resolved, err := newAttestationRequestResolver(req, nil, r.consent.ConsentURL(req.ID))
	if err != nil {
		return nil, toGraphQLError(ctx, "requestAttestation", err)
	}
	return &requestAttestationPayload{request: resolved, userErrors: []*userError{}}, nil
}

// requestAttestationPayload resolves RequestAttestationPayload.
type requestAttestationPayload struct {
	request    *attestationRequestResolver
	userErrors []*userError
}

func (p *requestAttestationPayload) AttestationRequest() *attestationRequestResolver {
	return p.request
}

func (p *requestAttestationPayload) UserErrors() []*userError { return p.userErrors }
