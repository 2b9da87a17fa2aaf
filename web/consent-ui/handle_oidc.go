package consentui

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/openbanking-insights/insights/internal/oidc"
)

// OIDCSignIn configures sign-in through an OpenID Connect provider.
//
// The customer ID of the session is the value of the ID token claim named
// CustomerClaim. With the default "sub", the provider's subject identifier
// must equal the customer ID the service stores for the customer's data. A
// provider that keeps its own subject identifiers can put the service's
// customer ID in a custom claim, such as "customer_id", and CustomerClaim
// names it. A string or an integer claim is accepted. A missing or empty
// claim, or one longer than 128 characters or with control characters,
// fails the sign-in.
type OIDCSignIn struct {
	Client        *oidc.Client
	CustomerClaim string // empty means "sub"
}

const (
	flowCookie     = "consent_oidc"
	flowCookiePath = "/consent/signin"
	// flowTTL is how long a customer has at the provider before the
	// callback. Providers' login forms time out after a few minutes too.
	flowTTL          = 10 * time.Minute
	exchangeTimeout  = 15 * time.Second
	maxCustomerIDLen = 128
)

// CallbackPath is the path of the redirect URL to register at the provider:
// the service's base URL followed by this path.
const CallbackPath = "/consent/signin/callback"

// oidcFlow is the sign-in state that the browser keeps, signed, between the
// redirect to the provider and the callback.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"` // Unix seconds
}

// handleOIDCStart sends the browser to the provider's authorization endpoint
// with a fresh state, nonce and PKCE challenge, and keeps them in a signed
// cookie for the callback.
func (h *handler) handleOIDCStart(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		h.renderMessage(w, r, http.StatusNotFound, "signinoff")
		return
	}
	a, err := oidc.NewAuthRequest()
	if err != nil {
		h.logger.Error("failed to start OpenID Connect sign-in", "error", err)
		h.renderMessage(w, r, http.StatusInternalServerError, "internal")
		return
	}
	flow := oidcFlow{State: a.State, Nonce: a.Nonce, Verifier: a.Verifier,
		Next: safeNext(r.URL.Query().Get("next")), Expires: h.now().Add(flowTTL).Unix()}
	http.SetCookie(w, &http.Cookie{
		Name:     flowCookie,
		Value:    h.encodeFlow(flow),
		Path:     flowCookiePath,
		MaxAge:   int(flowTTL.Seconds()),
		HttpOnly: true,
		Secure:   h.sessions.secure(r),
		// Lax, because the callback is a top-level navigation from the
		// provider's site, which Strict would strip the cookie from.
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, h.oidc.Client.AuthCodeURL(a), http.StatusFound)
}

// handleOIDCCallback completes the sign-in: it checks the state against the
// flow cookie, redeems the code, verifies the ID token and starts a session
// for the customer the token names.
func (h *handler) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		h.renderMessage(w, r, http.StatusNotFound, "signinoff")
		return
	}
	// The flow cookie is single-use, whatever the outcome.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: flowCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: h.sessions.secure(r), SameSite: http.SameSiteLaxMode})

	flow, err := h.readFlow(r)
	if err != nil {
		h.signInFailed(w, r, "no valid sign-in in progress", err)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 {
		h.signInFailed(w, r, "state does not match the sign-in in progress", nil)
		return
	}
	if code := q.Get("error"); code != "" {
		h.signInFailed(w, r, "provider returned an error", fmt.Errorf("error %q", truncate(code, 64)))
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	tok, err := h.oidc.Client.Exchange(ctx, q.Get("code"), oidc.AuthRequest{State: flow.State, Nonce: flow.Nonce, Verifier: flow.Verifier})
	if err != nil {
		h.signInFailed(w, r, "code exchange or ID token verification failed", err)
		return
	}
	customerID, err := tok.StringClaim(h.customerClaim())
	if err == nil {
		err = checkCustomerID(customerID)
	}
	if err != nil {
		h.signInFailed(w, r, "ID token does not name a customer", err)
		return
	}

	now := h.now()
	s, err := h.sessions.newSession(customerID, now)
	if err != nil {
		h.logger.Error("failed to start consent session", "error", err)
		h.renderMessage(w, r, http.StatusInternalServerError, "internal")
		return
	}
	h.sessions.setSessionCookie(w, r, s, now)
	h.logger.Info("customer signed in through OpenID Connect")
	http.Redirect(w, r, flow.Next, http.StatusSeeOther)
}

func (h *handler) customerClaim() string {
	if h.oidc.CustomerClaim == "" {
		return "sub"
	}
	return h.oidc.CustomerClaim
}

// signInFailed logs why and shows a page that offers to try again. The
// error texts carry no claim values, so no personal data reaches the log.
func (h *handler) signInFailed(w http.ResponseWriter, r *http.Request, reason string, err error) {
	h.logger.Warn("OpenID Connect sign-in failed", "reason", reason, "error", err)
	p := h.newPage(w, r)
	p.Title = p.T("signinfailed.title")
	p.Content = messageView{Text: p.T("signinfailed.text"), LinkURL: "/consent/signin", LinkText: p.T("signinfailed.retry")}
	h.render(w, r, http.StatusBadRequest, "message", p)
}

func checkCustomerID(id string) error {
	if len(id) > maxCustomerIDLen {
		return fmt.Errorf("customer ID is %d bytes, want at most %d", len(id), maxCustomerIDLen)
	}
	if strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return errors.New("customer ID contains control characters")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// encodeFlow returns "v1.<base64url JSON>.<HMAC-SHA256>", signed with a key
// of its own so no session cookie or CSRF token passes as a flow.
func (h *handler) encodeFlow(f oidcFlow) string {
	body, _ := json.Marshal(f) // json.Marshal fails only on unsupported types, and oidcFlow has strings and an int
	payload := "v1." + b64.EncodeToString(body)
	return payload + "." + b64.EncodeToString(sign(h.flowKey, payload))
}

var errBadFlow = errors.New("missing, invalid or expired sign-in flow cookie")

func (h *handler) readFlow(r *http.Request) (oidcFlow, error) {
	cookie, err := r.Cookie(flowCookie)
	if err != nil {
		return oidcFlow{}, errBadFlow
	}
	payload, macText, ok := cutLast(cookie.Value, ".")
	if !ok {
		return oidcFlow{}, errBadFlow
	}
	mac, err := b64.DecodeString(macText)
	if err != nil || !hmac.Equal(mac, sign(h.flowKey, payload)) {
		return oidcFlow{}, errBadFlow
	}
	body, err := b64.DecodeString(strings.TrimPrefix(payload, "v1."))
	if err != nil || !strings.HasPrefix(payload, "v1.") {
		return oidcFlow{}, errBadFlow
	}
	var f oidcFlow
	if err := json.Unmarshal(body, &f); err != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return oidcFlow{}, errBadFlow
	}
	if !h.now().Before(time.Unix(f.Expires, 0)) {
		return oidcFlow{}, errBadFlow
	}
	f.Next = safeNext(f.Next)
	return f, nil
}

// oidcStartURL returns the link that starts the provider sign-in and comes
// back to next.
func oidcStartURL(next string) string {
	return "/consent/signin/oidc?next=" + url.QueryEscape(safeNext(next))
}
