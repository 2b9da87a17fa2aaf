package consent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// Event names in consent_events. "opened" binds a request to the customer
// who signed in and opened it; it changes no state.
const (
	eventRequested = "requested"
	eventOpened    = "opened"
	eventApproved  = "approved"
	eventDenied    = "denied"
	eventIssued    = "issued"
	eventExpired   = "expired"
)

const (
	defaultRequestTTL    = 15 * time.Minute
	defaultTokenLifetime = 10 * time.Minute
	maxClaimsPerRequest  = 10
)

// claimSpec is the stored form of a ClaimRequest: the client's
// specification, never a derived value.
type claimSpec struct {
	Kind       insights.ClaimKind `json:"kind"`
	MinimumAge int                `json:"minimum_age,omitempty"`
	Amount     string             `json:"amount,omitempty"`
	Currency   string             `json:"currency,omitempty"`
	PostCode   string             `json:"post_code,omitempty"`
	Months     int                `json:"months,omitempty"`

	AverageDays      int    `json:"average_days,omitempty"`
	IncludeOverdraft bool   `json:"include_overdraft,omitempty"`
	Address          string `json:"address,omitempty"`
	AddressScope     string `json:"address_scope,omitempty"`
	FullAddress      bool   `json:"full_address,omitempty"`
	SalaryAmountBand bool   `json:"salary_amount_band,omitempty"`
}

func specOf(c insights.ClaimRequest) claimSpec {
	return claimSpec{Kind: c.Kind, MinimumAge: c.MinimumAge, Currency: c.Currency, PostCode: c.PostCode, Months: c.Months,
		AverageDays: c.AverageDays, IncludeOverdraft: c.IncludeOverdraft, Address: c.Address, AddressScope: c.AddressScope,
		FullAddress: c.FullAddress, SalaryAmountBand: c.SalaryAmountBand}
}

func (c claimSpec) request() insights.ClaimRequest {
	return insights.ClaimRequest{Kind: c.Kind, MinimumAge: c.MinimumAge, Currency: c.Currency, PostCode: c.PostCode, Months: c.Months,
		AverageDays: c.AverageDays, IncludeOverdraft: c.IncludeOverdraft, Address: c.Address, AddressScope: c.AddressScope,
		FullAddress: c.FullAddress, SalaryAmountBand: c.SalaryAmountBand}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) requestTTL() time.Duration {
	if s.RequestTTL > 0 {
		return s.RequestTTL
	}
	return defaultRequestTTL
}

func (s *Service) tokenLifetime() time.Duration {
	if s.TokenLifetime > 0 {
		return s.TokenLifetime
	}
	return defaultTokenLifetime
}

// ConsentURL returns the page where the customer decides on a request.
func (s *Service) ConsentURL(requestID string) string {
	return strings.TrimRight(s.BaseURL, "/") + "/consent/requests/" + requestID
}

// CreateRequest records a client's request for claims, to be issued in the
// form token chooses. The client may ask only for claim kinds it is
// registered for. A bad format or holder key is an invalid error naming
// the field.
func (s *Service) CreateRequest(ctx context.Context, client insights.Client, purpose string, claims []insights.ClaimRequest, token TokenOptions) (insights.AttestationRequest, error) {
	if err := checkRequest(client, purpose, claims); err != nil {
		return insights.AttestationRequest{}, err
	}
	token, err := checkTokenOptions(token)
	if err != nil {
		return insights.AttestationRequest{}, err
	}
	id, err := randomID("req_", 16)
	if err != nil {
		return insights.AttestationRequest{}, err
	}

	now := s.now()
	req := insights.AttestationRequest{
		ID: id, ClientID: client.ID, ClientName: client.Name, Purpose: purpose, Claims: claims,
		Status: insights.RequestPending, CreatedAt: now.Truncate(time.Millisecond),
		ExpiresAt: now.Add(s.requestTTL()).Truncate(time.Millisecond), TokenLifetime: s.tokenLifetime(),
		Format: token.Format, HolderKey: token.HolderKey, ConsentDuration: token.ConsentDuration,
	}
	if err := s.checkConsentDuration(claims, token.ConsentDuration); err != nil {
		return insights.AttestationRequest{}, err
	}
	spec, err := encodeClaims(claims)
	if err != nil {
		return insights.AttestationRequest{}, err
	}
	ev := event{RequestID: id, Seq: 1, Name: eventRequested, ClientID: client.ID, Purpose: purpose,
		Claims: spec, Actor: "client:" + client.ID, At: now, ExpiresAt: req.ExpiresAt,
		TokenFormat: string(token.Format), HolderKey: token.HolderKey, ConsentSeconds: int64(token.ConsentDuration / time.Second)}
	if err := s.appendEvent(ctx, ev, claimNames(claims)); err != nil {
		return insights.AttestationRequest{}, err
	}
	// StoreRequestRedirect replaces this entry when the client sent a
	// redirect URI.
	s.redirects.put(id, cachedRedirect{clientID: client.ID, expiresAt: req.ExpiresAt}, now)
	s.logger().Info("attestation requested", "request_id", id, "client_id", client.ID, "claims", claimNames(claims),
		"format", token.Format, "holder_key", token.HolderKey != "", "consent_duration", token.ConsentDuration.String())
	return req, nil
}

func checkRequest(client insights.Client, purpose string, claims []insights.ClaimRequest) error {
	if p := strings.TrimSpace(purpose); p == "" || utf8.RuneCountInString(p) > 200 {
		return insights.Errorf(insights.ErrInvalid, "purpose must be 1 to 200 characters")
	}
	if len(claims) == 0 || len(claims) > maxClaimsPerRequest {
		return insights.Errorf(insights.ErrInvalid, "a request must ask for 1 to %d claims", maxClaimsPerRequest)
	}
	for i, c := range claims {
		if !allowed(client, c.Kind) {
			return insights.Errorf(insights.ErrForbidden, "claims[%d]: client %s is not registered for claim kind %s", i, client.ID, c.Kind)
		}
		if err := checkClaimOptions(c); err != nil {
			return insights.Errorf(insights.ErrInvalid, "claims[%d].%v", i, err)
		}
	}
	return nil
}

// maxAverageDays bounds ClaimRequest.AverageDays, as derive does.
const maxAverageDays = 366

// checkClaimOptions checks the options a claim kind adds to its request, so
// that a request the customer could never approve is rejected at once.
// Messages name the field and never repeat a postcode or address.
func checkClaimOptions(c insights.ClaimRequest) error {
	if c.SalaryAmountBand && c.Kind != insights.ClaimNextSalaryDate {
		return fmt.Errorf("SalaryAmountBand: only a %[2]s claim has an amount band, not %[1]s", c.Kind, insights.ClaimNextSalaryDate)
	}
	if (c.AverageDays != 0 || c.IncludeOverdraft) && c.Kind != insights.ClaimFundsAtLeast {
		return fmt.Errorf("AverageDays: only a %[2]s claim averages balances or counts an overdraft, not %[1]s", c.Kind, insights.ClaimFundsAtLeast)
	}
	if c.AverageDays < 0 || c.AverageDays > maxAverageDays {
		return fmt.Errorf("AverageDays: %d is outside 0 to %d", c.AverageDays, maxAverageDays)
	}
	if c.Kind != insights.ClaimAddressMatches {
		field := ""
		switch {
		case c.Address != "":
			field = "Address"
		case c.AddressScope != "":
			field = "AddressScope"
		case c.FullAddress:
			field = "FullAddress"
		}
		if field != "" {
			return fmt.Errorf("%s: only an %s claim takes an address, a scope or FullAddress, not %s", field, insights.ClaimAddressMatches, c.Kind)
		}
		return nil
	}
	set := 0
	for _, isSet := range []bool{c.PostCode != "", c.Address != "", c.AddressScope != ""} {
		if isSet {
			set++
		}
	}
	switch {
	case set != 1:
		return fmt.Errorf("PostCode: set exactly one of PostCode, Address and AddressScope, got %d", set)
	case c.AddressScope != "" && c.AddressScope != insights.AddressCountry && c.AddressScope != insights.AddressRegion:
		return fmt.Errorf("AddressScope: %q is not %q or %q", c.AddressScope, insights.AddressCountry, insights.AddressRegion)
	case c.AddressScope != "" && c.FullAddress:
		return fmt.Errorf("FullAddress: a scope discloses only the %s, so it cannot ask for the whole address", c.AddressScope)
	}
	return nil
}

func allowed(client insights.Client, kind insights.ClaimKind) bool {
	for _, k := range client.AllowedClaims {
		if k == kind {
			return true
		}
	}
	return false
}

// ClientRequest returns one of the client's own requests and, once issued,
// its token. Another client's request is reported as not found.
//
// The request and its newest token are read in one query, so both come
// from the same moment of storage and a fetch costs one round trip.
func (s *Service) ClientRequest(ctx context.Context, client insights.Client, id string) (insights.AttestationRequest, *Attestation, error) {
	req, att, err := s.requestWithToken(ctx, id)
	if err != nil {
		return req, nil, err
	}
	if req.ClientID != client.ID {
		return insights.AttestationRequest{}, nil, insights.Errorf(insights.ErrNotFound, "attestation request %s not found", id)
	}
	if req.Status != insights.RequestIssued {
		return req, nil, nil
	}
	if att == nil {
		return req, nil, fmt.Errorf("request %s is issued but has no stored attestation", id)
	}
	att.Format = req.Format
	return req, att, nil
}

// requestWithToken returns a request and its newest token, nil when it
// has none.
func (s *Service) requestWithToken(ctx context.Context, id string) (insights.AttestationRequest, *Attestation, error) {
	query := `SELECT st.*, a.jti, a.token, a.claim_names, a.issued, a.expires
FROM (` + foldRequests("WHERE request_id = {id:String}", "") + `) AS st
LEFT JOIN (
    SELECT request_id, argMax(jti, issued_at) AS jti, argMax(token, issued_at) AS token,
        argMax(claim_names, issued_at) AS claim_names,
        toUnixTimestamp64Milli(max(issued_at)) AS issued, toUnixTimestamp64Milli(argMax(expires_at, issued_at)) AS expires
    FROM attestations FINAL WHERE request_id = {id:String} GROUP BY request_id
) AS a USING (request_id)`
	rows, err := s.Engine.Query(ctx, query, store.P("id", id))
	if err != nil {
		return insights.AttestationRequest{}, nil, fmt.Errorf("read attestation request %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return insights.AttestationRequest{}, nil, fmt.Errorf("read attestation request %s: %w", id, err)
		}
		return insights.AttestationRequest{}, nil, insights.Errorf(insights.ErrNotFound, "attestation request %s not found", id)
	}
	var a Attestation
	var issued, expires int64
	st, err := s.scanRequestState(rows, &a.JTI, &a.Token, &a.ClaimNames, &issued, &expires)
	if err != nil {
		return insights.AttestationRequest{}, nil, err
	}
	if err := rows.Err(); err != nil {
		return insights.AttestationRequest{}, nil, fmt.Errorf("read attestation request %s: %w", id, err)
	}
	states := []requestState{st}
	if err := s.setClientNames(ctx, states); err != nil {
		return insights.AttestationRequest{}, nil, err
	}
	if a.JTI == "" {
		return states[0].req, nil, nil
	}
	a.IssuedAt, a.ExpiresAt = time.UnixMilli(issued).UTC(), time.UnixMilli(expires).UTC()
	return states[0].req, &a, nil
}

// Request returns a request by id, with its current status. A pending
// request past its expiry is reported as expired.
func (s *Service) Request(ctx context.Context, id string) (insights.AttestationRequest, error) {
	reqs, err := s.queryRequests(ctx, "WHERE request_id = {id:String}", "", store.P("id", id))
	if err != nil {
		return insights.AttestationRequest{}, err
	}
	if len(reqs) == 0 {
		return insights.AttestationRequest{}, insights.Errorf(insights.ErrNotFound, "attestation request %s not found", id)
	}
	return reqs[0], nil
}

// Pending returns the customer's requests that await a decision: those the
// customer opened and has not yet approved or denied.
func (s *Service) Pending(ctx context.Context, customerID string) ([]insights.AttestationRequest, error) {
	reqs, err := s.queryRequests(ctx,
		"WHERE request_id IN (SELECT request_id FROM consent_events WHERE customer_id = {customer:String})",
		"HAVING status = 'requested'", store.P("customer", customerID))
	if err != nil {
		return nil, err
	}
	var out []insights.AttestationRequest
	for _, r := range reqs {
		if r.Status == insights.RequestPending {
			out = append(out, r)
		}
	}
	return out, nil
}

// queryRequests reads requests folded from their events. Fields set once
// come from the first event; the customer from the first event naming one;
// the status from the latest event that changes state.
func (s *Service) queryRequests(ctx context.Context, where, having string, params ...store.Param) ([]insights.AttestationRequest, error) {
	states, err := s.queryRequestStates(ctx, where, having, params...)
	if err != nil {
		return nil, err
	}
	out := make([]insights.AttestationRequest, len(states))
	for i, st := range states {
		out[i] = st.req
	}
	return out, nil
}

// requestState is a request with the highest sequence number of its
// events, which the next event of the request follows.
type requestState struct {
	req insights.AttestationRequest
	seq int64
}

// queryRequestStates is queryRequests with each request's highest event
// sequence number.
func (s *Service) queryRequestStates(ctx context.Context, where, having string, params ...store.Param) ([]requestState, error) {
	rows, err := s.Engine.Query(ctx, foldRequests(where, having), params...)
	if err != nil {
		return nil, fmt.Errorf("read attestation requests: %w", err)
	}
	defer rows.Close()

	var out []requestState
	for rows.Next() {
		st, err := s.scanRequestState(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attestation requests: %w", err)
	}
	if err := s.setClientNames(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// foldRequests returns the query that folds each request's events into
// its state, in the columns scanRequestState reads.
func foldRequests(where, having string) string {
	return `SELECT request_id,
    argMaxIf(event, seq, event != 'opened') AS status,
    argMin(client_id, seq), argMin(purpose, seq), argMin(claims, seq),
    argMinIf(customer_id, seq, customer_id != ''),
    toUnixTimestamp64Milli(argMin(at, seq)), toUnixTimestamp64Milli(argMin(expires_at, seq)),
    toInt64(max(seq)), argMin(token_format, seq), argMin(holder_key, seq),
    toInt64(argMin(consent_seconds, seq)), toUnixTimestamp64Milli(minIf(at, event = 'approved'))
FROM consent_events FINAL ` + where + `
GROUP BY request_id ` + having + `
ORDER BY min(at), request_id`
}

// scanRequestState reads one row of foldRequests, followed by the columns
// of extra.
func (s *Service) scanRequestState(rows store.Rows, extra ...any) (requestState, error) {
	var r insights.AttestationRequest
	var status, spec, format string
	var created, expires, seq, consentSeconds, approvedMs int64
	dest := append([]any{&r.ID, &status, &r.ClientID, &r.Purpose, &spec, &r.CustomerID, &created, &expires, &seq,
		&format, &r.HolderKey, &consentSeconds, &approvedMs}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return requestState{}, fmt.Errorf("read attestation requests: %w", err)
	}
	var err error
	if r.Claims, err = decodeClaims(spec); err != nil {
		return requestState{}, fmt.Errorf("attestation request %s: %w", r.ID, err)
	}
	r.Status = insights.RequestStatus(status)
	// Requests stored before token_format existed have '' and are JWS.
	r.Format = insights.TokenFormat(format)
	if r.Format == "" {
		r.Format = insights.TokenJWS
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.ExpiresAt = time.UnixMilli(expires).UTC()
	r.TokenLifetime = s.tokenLifetime()
	if r.Status == insights.RequestPending && !s.now().Before(r.ExpiresAt) {
		r.Status = insights.RequestExpired
	}
	if consentSeconds > 0 {
		r.ConsentDuration = time.Duration(consentSeconds) * time.Second
		// minIf over no approved event gives the epoch.
		if approvedMs > 0 {
			r.ConsentUntil = time.UnixMilli(approvedMs).UTC().Add(r.ConsentDuration)
		}
		if r.Status == insights.RequestIssued && !s.now().Before(r.ConsentUntil) {
			r.Status = insights.RequestExpired
		}
	}
	return requestState{req: r, seq: seq}, nil
}

// setClientNames fills in the client name of each request.
func (s *Service) setClientNames(ctx context.Context, states []requestState) error {
	for i, st := range states {
		facts, err := s.clientFacts(ctx, st.req.ClientID)
		if err != nil {
			return fmt.Errorf("attestation request %s: %w", st.req.ID, err)
		}
		states[i].req.ClientName = facts.name
	}
	return nil
}

func encodeClaims(claims []insights.ClaimRequest) (string, error) {
	specs := make([]claimSpec, len(claims))
	for i, c := range claims {
		specs[i] = specOf(c)
		if c.Kind == insights.ClaimFundsAtLeast {
			specs[i].Amount = c.Amount.String()
		}
	}
	b, err := json.Marshal(specs)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	return string(b), nil
}

func decodeClaims(spec string) ([]insights.ClaimRequest, error) {
	var specs []claimSpec
	if err := json.Unmarshal([]byte(spec), &specs); err != nil {
		return nil, fmt.Errorf("decode stored claims: %w", err)
	}
	out := make([]insights.ClaimRequest, len(specs))
	for i, c := range specs {
		out[i] = c.request()
		if c.Amount != "" {
			amount, err := insights.ParseSignedAmount(c.Amount)
			if err != nil {
				return nil, fmt.Errorf("stored claim %d amount: %w", i, err)
			}
			out[i].Amount = amount
		}
	}
	return out, nil
}
