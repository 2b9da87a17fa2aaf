package api

import (
	"context"
	"strings"

	"github.com/openbanking-insights/insights"
)

// redirectStore is the part of the consent service that records where the
// consent page sends the customer back to. *consent.Service implements
// it; a Consent without it rejects redirectUri as unsupported.
type redirectStore interface {
	CheckRequestRedirect(ctx context.Context, client insights.Client, redirectURI, state string) error
	StoreRequestRedirect(ctx context.Context, clientID, requestID, redirectURI, state string) error
}

// checkRedirect returns the user errors of the redirectUri and state
// fields of a requestAttestation input, or an error when the check itself
// failed, such as storage being down.
func (r *rootResolver) checkRedirect(ctx context.Context, client insights.Client, in requestAttestationInput) ([]*userError, error) {
	uri, state := deref(in.RedirectURI), deref(in.State)
	if uri == "" && state == "" {
		return nil, nil
	}
	store, ok := r.consent.(redirectStore)
	if !ok {
		return []*userError{{field: []string{"input", "redirectUri"}, message: "this service does not support redirectUri", code: userErrorUnsupported}}, nil
	}
	err := store.CheckRequestRedirect(ctx, client, uri, state)
	if err == nil || insights.ErrorCode(err) != insights.ErrInvalid {
		return nil, err
	}
	message := insights.ErrorMessage(err)
	field := []string{"input", "redirectUri"}
	if strings.HasPrefix(message, "state:") {
		field = []string{"input", "state"}
	}
	return []*userError{{field: field, message: message, code: userErrorInvalid}}, nil
}

// storeRedirect records the checked redirectUri and state of a new request.
func (r *rootResolver) storeRedirect(ctx context.Context, client insights.Client, requestID string, in requestAttestationInput) error {
	uri := deref(in.RedirectURI)
	if uri == "" {
		return nil
	}
	store, ok := r.consent.(redirectStore)
	if !ok {
		return nil // checkRedirect rejected the input already
	}
	return store.StoreRequestRedirect(ctx, client.ID, requestID, uri, deref(in.State))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
