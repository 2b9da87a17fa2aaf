package aspsp

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HTTPError is a response the bank did not accept, named by method, URL path
// and status. It holds no token, no query string and no free text from the
// body, only the machine-readable codes.
type HTTPError struct {
	Method string
	Path   string
	Status int
	// Codes are the ErrorCode values of an OBIE error body's Errors array
	// (v3.1 names such as UK.OBIE.Resource.InvalidConsentStatus, or v4.0
	// codes such as U004).
	Codes []string
	// OAuthError is the "error" member of an OAuth 2.0 error response
	// (RFC 6749 section 5.2), such as invalid_grant.
	OAuthError string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d", e.Method, e.Path, e.Status)
	if e.OAuthError != "" {
		msg += " (" + e.OAuthError + ")"
	}
	if len(e.Codes) > 0 {
		msg += " (" + strings.Join(e.Codes, ", ") + ")"
	}
	return msg
}

// Is matches ErrForbidden for every 403, and ErrConsentInactive for a 403
// whose codes mean that the consent is not authorised.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrConsentInactive:
		return e.Status == http.StatusForbidden && slices.ContainsFunc(e.Codes, isConsentInactiveCode)
	}
	return false
}

// isConsentInactiveCode reports the v3.1 error codes an ASPSP returns for a
// consent that is not Authorised: InvalidConsentStatus (revoked, expired or
// not yet authorised) and Reauthenticate (the customer has to confirm
// access again).
//
// NOTE: v4.0 replaced these names with U-codes, which are not mapped here.
// A v4.0 bank's 403 therefore reads as a missing permission unless the
// caller checks the consent's status.
func isConsentInactiveCode(code string) bool {
	return code == "UK.OBIE.Resource.InvalidConsentStatus" || code == "UK.OBIE.Reauthenticate"
}

// errorCodePattern limits what is copied from an error body into an error:
// codes, never messages, which may echo request data.
var errorCodePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func newHTTPError(method, path string, status int, body []byte) *HTTPError {
	e := &HTTPError{Method: method, Path: path, Status: status}
	var parsed struct {
		Error  string `json:"error"`
		Errors []struct {
			ErrorCode string `json:"ErrorCode"`
		} `json:"Errors"`
	}
	if json.Unmarshal(body, &parsed) != nil {
		return e
	}
	if errorCodePattern.MatchString(parsed.Error) {
		e.OAuthError = parsed.Error
	}
	for _, item := range parsed.Errors {
		if errorCodePattern.MatchString(item.ErrorCode) {
			e.Codes = append(e.Codes, item.ErrorCode)
		}
	}
	return e
}

// PageTooLargeError reports a response body over Client.MaxPageBytes.
type PageTooLargeError struct {
	Path  string
	Limit int64
}

func (e *PageTooLargeError) Error() string {
	return fmt.Sprintf("GET %s: response body larger than %d bytes", e.Path, e.Limit)
}

// request is one call to the bank.
type request struct {
	method string
	url    string
	// form is sent as application/x-www-form-urlencoded, body as JSON.
	form url.Values
	body []byte
	// bearer is the access token for the Authorization header; when empty
	// the client authenticates with HTTP Basic.
	bearer string
	// fapi adds the FAPI headers of a resource read; consent supplies
	// x-fapi-auth-date and x-fapi-customer-ip-address.
	fapi    bool
	consent *Consent
	// idempotent requests are retried after 5xx and transport errors too,
	// not only after 429 and 503.
	idempotent bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req, repeating it per the retry policy: after 429 and 503 (the
// bank did not process it) for every request, and after other 5xx and
// transport errors for idempotent ones. The final response is returned
// whatever its status.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	policy := c.retry()
	path := pathOf(req.url)
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, req)
		if err != nil {
			var tooLarge *PageTooLargeError
			if ctx.Err() != nil || errors.As(err, &tooLarge) || !req.idempotent || attempt >= policy.MaxAttempts {
				return nil, err
			}
			wait := backoff(policy, attempt)
			c.logger().Info("ASPSP request failed, retrying", "bank", c.Bank.ID, "method", req.method, "path", path,
				"attempt", attempt, "wait", wait, "error", err)
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}

		if !retryable(resp.status, req.idempotent) || attempt >= policy.MaxAttempts {
			return resp, nil
		}
		wait := backoff(policy, attempt)
		if after, ok := retryAfter(resp.header.Get("Retry-After"), c.now()); ok {
			wait = min(after, policy.MaxDelay)
		}
		c.logger().Info("ASPSP request refused, retrying", "bank", c.Bank.ID, "method", req.method, "path", path,
			"status", resp.status, "attempt", attempt, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryable reports whether a status is worth another attempt. 429 and 503
// mean the request was not processed, so even a token request may be sent
// again.
func retryable(status int, idempotent bool) bool {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return true
	case status >= 500:
		return idempotent
	}
	return false
}

// send makes one attempt.
func (c *Client) send(ctx context.Context, req request) (*response, error) {
	path := pathOf(req.url)
	var body io.Reader
	contentType := ""
	switch {
	case req.form != nil:
		body = strings.NewReader(req.form.Encode())
		contentType = "application/x-www-form-urlencoded"
	case req.body != nil:
		body = bytes.NewReader(req.body)
		contentType = "application/json"
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, path, err)
	}
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	hreq.Header.Set("Accept", "application/json")
	if req.bearer != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.bearer)
	} else {
		// RFC 6749 section 2.3.1: client_id and client_secret are
		// form-urlencoded before they are used as the Basic credentials.
		hreq.SetBasicAuth(url.QueryEscape(c.Bank.ClientID), url.QueryEscape(c.Bank.ClientSecret))
	}
	interactionID := ""
	if req.fapi {
		interactionID = c.setFAPIHeaders(hreq, req.consent)
	}

	hresp, err := c.httpClient().Do(hreq)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.method, path, err)
	}
	defer hresp.Body.Close()

	limit := c.maxPageBytes()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.method, path, err)
	}
	if int64(len(data)) > limit {
		return nil, &PageTooLargeError{Path: path, Limit: limit}
	}
	if echoed := hresp.Header.Get("x-fapi-interaction-id"); interactionID != "" && echoed != "" && echoed != interactionID {
		c.logger().Warn("ASPSP echoed a different x-fapi-interaction-id", "bank", c.Bank.ID, "path", path,
			"sent", interactionID, "received", echoed)
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: data}, nil
}

// setFAPIHeaders sets the headers of the OBIE Read/Write API profile on a
// resource read and returns the interaction ID it chose.
func (c *Client) setFAPIHeaders(hreq *http.Request, consent *Consent) string {
	hreq.Header.Set("x-fapi-financial-id", c.Bank.FinancialID)
	// A fresh RFC 4122 UUID per request, which the ASPSP plays back so
	// both sides can correlate their logs.
	id := newUUID()
	hreq.Header.Set("x-fapi-interaction-id", id)
	if consent != nil {
		if !consent.AuthDate.IsZero() {
			// The profile wants an RFC 7231 IMF-fixdate, always in GMT.
			hreq.Header.Set("x-fapi-auth-date", consent.AuthDate.UTC().Format(http.TimeFormat))
		}
		if consent.CustomerIP != "" {
			hreq.Header.Set("x-fapi-customer-ip-address", consent.CustomerIP)
		}
	}
	return id
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never returns an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// retryAfter parses a Retry-After header (RFC 9110 section 10.2.3): a number
// of seconds or an HTTP date.
func retryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	when, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// backoff returns the wait after failed attempt n (1-based): BaseDelay
// doubled n-1 times and capped at MaxDelay, then a random point in its
// upper half, so clients that failed together do not retry together.
func backoff(p RetryPolicy, attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	if p.MaxDelay > 0 {
		d = min(d, p.MaxDelay)
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pathOf returns the path of a URL for messages: the query, which may carry
// a page cursor, and any credentials are left out.
func pathOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return "(invalid URL)"
	}
	return u.Path
}
