package consent

import (
	"context"
	"fmt"
	"net/url"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// maxStateBytes bounds the state value a client passes with a request. The
// consent page returns it unchanged in the redirect URI's query.
const maxStateBytes = 512

// CheckRequestRedirect checks the redirect_uri and state a client sends
// with a request: the URI must equal one of the client's registered
// redirect URIs, character for character (RFC 6749 section 3.1.2.3), and
// state must be at most 512 printable ASCII characters (RFC 6749 appendix
// A.5). An empty redirectURI needs an empty state. Errors are invalid and
// name the field.
func (s *Service) CheckRequestRedirect(ctx context.Context, client insights.Client, redirectURI, state string) error {
	if redirectURI == "" {
		if state != "" {
			return insights.Errorf(insights.ErrInvalid, "state: needs a redirectUri to be returned to")
		}
		return nil
	}
	if len(state) > maxStateBytes {
		return insights.Errorf(insights.ErrInvalid, "state: %d bytes; the limit is %d", len(state), maxStateBytes)
	}
	for i := 0; i < len(state); i++ {
		if state[i] < 0x20 || state[i] > 0x7e {
			return insights.Errorf(insights.ErrInvalid, "state: byte %d is not printable ASCII", i)
		}
	}
	reg, err := s.ClientRegistration(ctx, client.ID)
	if err != nil {
		return err
	}
	for _, registered := range reg.RedirectURIs {
		if registered == redirectURI {
			return nil
		}
	}
	if len(reg.RedirectURIs) == 0 {
		return insights.Errorf(insights.ErrInvalid, "redirectUri %q: the client has no registered redirect URIs; ask the operator to add it", redirectURI)
	}
	return insights.Errorf(insights.ErrInvalid, "redirectUri %q: not one of the client's registered redirect URIs %q", redirectURI, reg.RedirectURIs)
}

// StoreRequestRedirect records where the consent page sends the customer
// after deciding on request requestID. Call CheckRequestRedirect first.
func (s *Service) StoreRequestRedirect(ctx context.Context, clientID, requestID, redirectURI, state string) error {
	// Until the row is stored, a decision reads the redirect from storage.
	s.redirects.drop(requestID)
	now := s.now()
	err := s.Engine.Exec(ctx, `INSERT INTO request_redirects (request_id, client_id, redirect_uri, state, created_at)
VALUES ({id:String}, {client:String}, {uri:String}, {state:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("id", requestID), store.P("client", clientID), store.P("uri", redirectURI), store.P("state", state),
		store.P("at", millis(now)))
	if err != nil {
		return fmt.Errorf("store redirect of request %s: %w", requestID, err)
	}
	s.redirects.put(requestID, cachedRedirect{clientID: clientID, uri: redirectURI, state: state,
		expiresAt: now.Add(s.requestTTL())}, now)
	return nil
}

// DecisionRedirect returns the URL the consent page sends the customer to
// after deciding on request requestID: the request's redirect URI with
// request_id, status ("approved" or "denied") and, when the client sent
// one, state added to its query. ok is false when the request has no
// redirect URI. The URI is checked again, so a redirect URI the client
// has since removed from its registration is not used.
func (s *Service) DecisionRedirect(ctx context.Context, requestID string, approved bool) (target string, ok bool, err error) {
	cached, found := s.redirects.take(requestID)
	if !found {
		cached, found, err = s.readRedirect(ctx, requestID)
		if err != nil {
			return "", false, err
		}
	}
	if !found || cached.uri == "" {
		return "", false, nil
	}
	clientID, redirectURI, state := cached.clientID, cached.uri, cached.state
	if err := s.CheckRequestRedirect(ctx, insights.Client{ID: clientID}, redirectURI, state); err != nil {
		s.logger().Info("redirect URI no longer registered; not redirecting", "request_id", requestID, "client_id", clientID)
		return "", false, nil
	}

	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", false, fmt.Errorf("parse redirect of request %s: %w", requestID, err)
	}
	q := u.Query()
	q.Set("request_id", requestID)
	if approved {
		q.Set("status", "approved")
	} else {
		q.Set("status", "denied")
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String(), true, nil
}

// readRedirect reads the redirect of a request from storage. found is
// false when the request has none.
func (s *Service) readRedirect(ctx context.Context, requestID string) (r cachedRedirect, found bool, err error) {
	rows, err := s.Engine.Query(ctx, `SELECT client_id, redirect_uri, state FROM request_redirects FINAL WHERE request_id = {id:String}`,
		store.P("id", requestID))
	if err != nil {
		return r, false, fmt.Errorf("read redirect of request %s: %w", requestID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return r, false, rows.Err()
	}
	if err := rows.Scan(&r.clientID, &r.uri, &r.state); err != nil {
		return r, false, fmt.Errorf("read redirect of request %s: %w", requestID, err)
	}
	return r, true, nil
}
