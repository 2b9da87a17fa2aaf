package api

import (
	"context"
	"errors"
	"fmt"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// reissuer is the optional part of Consent that serves long-lived lender
// consents. *consent.Service implements it; a Consent without it answers
// reissueAttestation with INTERNAL.
type reissuer interface {
	Reissue(ctx context.Context, client insights.Client, requestID string) (*consent.Attestation, error)
}

var _ reissuer = (*consent.Service)(nil)

// ReissueAttestation resolves Mutation.reissueAttestation.
func (r *rootResolver) ReissueAttestation(ctx context.Context, args struct{ RequestID graphql.ID }) (*attestationResolver, error) {
	client, err := authenticatedClient(ctx)
	if err != nil {
		return nil, toGraphQLError(ctx, "reissueAttestation", err)
	}
	id := string(args.RequestID)
	if id == "" || len(id) > maxIDBytes {
		return nil, toGraphQLError(ctx, "reissueAttestation", insights.Errorf(insights.ErrNotFound, "attestation request not found"))
	}
	service, ok := r.consent.(reissuer)
	if !ok {
		return nil, toGraphQLError(ctx, "reissueAttestation", errors.New("the consent service cannot reissue tokens"))
	}

	att, err := service.Reissue(ctx, client, id)
	if err != nil {
		return nil, toGraphQLError(ctx, "reissueAttestation", err)
	}
	format, ok := tokenFormatEnum(att.Format)
	if !ok {
		return nil, toGraphQLError(ctx, "reissueAttestation", fmt.Errorf("attestation %s has unknown format %q", att.JTI, att.Format))
	}
	loggerFrom(ctx).InfoContext(ctx, "attestation reissued", "client_id", client.ID, "request_id", id, "jti", att.JTI)
	return &attestationResolver{att: *att, format: format}, nil
}
