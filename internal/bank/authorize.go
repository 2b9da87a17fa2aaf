package bank

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openbanking-insights/insights/internal/obie"
)

// authorizeRequest holds the parameters of an authorization request
// (RFC 6749 section 4.1.1) plus the OBIE consent it is for.
type authorizeRequest struct {
	ClientID    string
	RedirectURI string
	State       string
	ConsentID   string
	// Scope and Nonce are the OpenID Connect parameters. The token
	// response carries an ID token when Scope contains "openid", with
	// Nonce as its nonce claim.
	Scope string
	Nonce string
}

// handleAuthorize serves GET /authorize: the approval page, or, with
// prompt=none and login_hint, an immediate approval for that customer.
func (b *Bank) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, ok := b.checkAuthorizeRequest(w, r, q)
	if !ok {
		return
	}

	if q.Get("prompt") != "none" {
		b.renderApproval(w, http.StatusOK, req, "")
		return
	}
	// OpenID Connect Core 1.0 section 3.1.2.6: with prompt=none the server
	// must not show a page, and returns login_required when it cannot
	// identify the user without one.
	hint := q.Get("login_hint")
	if _, known := b.customers[hint]; !known {
		redirectWith(w, r, req.RedirectURI, url.Values{"error": {"login_required"}, "error_description": {"login_hint does not name a demo customer"}, "state": {req.State}})
		return
	}
	b.approve(w, r, req, hint)
}

// handleAuthorizeDecision serves POST /authorize, the form of the approval
// page: decision=approve with a customer, or decision=deny.
func (b *Bank) handleAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read. Start again from the third party's site.", http.StatusBadRequest)
		return
	}
	req, ok := b.checkAuthorizeRequest(w, r, r.PostForm)
	if !ok {
		return
	}

	switch r.PostForm.Get("decision") {
	case "approve":
		customer := r.PostForm.Get("customer")
		if _, known := b.customers[customer]; !known {
			b.renderApproval(w, http.StatusBadRequest, req, "Choose the customer you are signing in as.")
			return
		}
		b.approve(w, r, req, customer)
	case "deny":
		b.deny(w, r, req)
	default:
		b.renderApproval(w, http.StatusBadRequest, req, "Choose Approve or Deny.")
	}
}

// checkAuthorizeRequest validates the parameters. Problems with client_id
// or redirect_uri get an error page, because RFC 6749 section 4.1.2.1
// forbids redirecting to an unverified URI; other problems are redirected
// back to the client with an error code.
func (b *Bank) checkAuthorizeRequest(w http.ResponseWriter, r *http.Request, q url.Values) (authorizeRequest, bool) {
	req := authorizeRequest{
		ClientID:    q.Get("client_id"),
		RedirectURI: q.Get("redirect_uri"),
		State:       q.Get("state"),
		ConsentID:   q.Get("consent_id"),
		Scope:       q.Get("scope"),
		Nonce:       q.Get("nonce"),
	}
	if req.ClientID != b.opts.ClientID {
		http.Error(w, "Unknown client_id: this bank has no such third party registered.", http.StatusBadRequest)
		return req, false
	}
	if !validRedirectURI(req.RedirectURI) {
		http.Error(w, "Invalid redirect_uri: want an absolute http or https URL without a fragment.", http.StatusBadRequest)
		return req, false
	}

	fail := func(code, description string) (authorizeRequest, bool) {
		redirectWith(w, r, req.RedirectURI, url.Values{"error": {code}, "error_description": {description}, "state": {req.State}})
		return req, false
	}
	if q.Get("response_type") != "code" {
		return fail("unsupported_response_type", "response_type must be code")
	}
	if req.ConsentID == "" {
		return fail("invalid_request", "consent_id is required")
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.consents[req.ConsentID]
	switch {
	case !ok:
		return fail("invalid_request", "consent_id names no consent")
	case c.expiredAt(b.now()):
		return fail("invalid_request", "consent has expired")
	case c.status != statusAwaitingAuthorisation && c.status != statusAuthorised:
		return fail("invalid_request", "consent status is "+c.status)
	}
	return req, true
}

// validRedirectURI accepts any absolute http or https URL without a
// fragment (RFC 6749 section 3.1.2).
//
// NOTE: a real ASPSP accepts only the redirect URIs registered for the
// client. This bank has no registry, so it redirects to any URI the
// client requests. Keep it on loopback.
func validRedirectURI(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || u.Host == "" {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// approve authorises the consent for customer and redirects with a code.
func (b *Bank) approve(w http.ResponseWriter, r *http.Request, req authorizeRequest, customer string) {
	b.mu.Lock()
	c := b.consents[req.ConsentID]
	if c.status == statusAuthorised && c.customer != customer {
		b.mu.Unlock()
		redirectWith(w, r, req.RedirectURI, url.Values{"error": {"access_denied"}, "error_description": {"consent was authorised by another customer"}, "state": {req.State}})
		return
	}
	now := b.now()
	if c.status != statusAuthorised {
		c.status = statusAuthorised
		c.updated = now
	}
	c.customer = customer
	code := newToken()
	b.codes[code] = &authCode{consentID: c.id, redirectURI: req.RedirectURI, expires: now.Add(codeTTL),
		customer: customer, openID: slices.Contains(strings.Fields(req.Scope), "openid"), nonce: req.Nonce}
	b.mu.Unlock()

	b.log.Info("consent authorised", "consent_id", req.ConsentID)
	redirectWith(w, r, req.RedirectURI, url.Values{"code": {code}, "state": {req.State}})
}

// deny rejects the consent and redirects with access_denied.
func (b *Bank) deny(w http.ResponseWriter, r *http.Request, req authorizeRequest) {
	b.mu.Lock()
	c := b.consents[req.ConsentID]
	if c.status == statusAwaitingAuthorisation {
		c.status = statusRejected
		c.updated = b.now()
	}
	b.mu.Unlock()

	b.log.Info("consent rejected", "consent_id", req.ConsentID)
	redirectWith(w, r, req.RedirectURI, url.Values{"error": {"access_denied"}, "state": {req.State}})
}

// redirectWith redirects to target with params added to its query. An
// empty state is left out: RFC 6749 returns state only when it was sent.
func redirectWith(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, _ := url.Parse(target) // validated by checkAuthorizeRequest
	q := u.Query()
	for k, vs := range params {
		if len(vs) == 1 && vs[0] == "" {
			continue
		}
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// approvalPage is the bank's consent page: plain HTML, no script, one
// form whose two buttons carry equal weight.
var approvalPage = template.Must(template.New("approve").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Share your account data - local demo bank</title>
</head>
<body>
<main>
<h1>Share your account data</h1>
{{if .Error}}<div role="alert"><h2>There is a problem</h2><p><a href="#customer">{{.Error}}</a></p></div>{{end}}
<p>The third party <strong>{{.ClientID}}</strong> asks to read this data from your accounts:</p>
<ul>
{{range .Permissions}}<li>{{.}}</li>
{{end}}</ul>
<p>{{if .Expires}}Access ends on {{.Expires}}.{{else}}Access has no end date; you can revoke it at any time.{{end}}</p>
<form method="post" action="/authorize">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="consent_id" value="{{.ConsentID}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="nonce" value="{{.Nonce}}">
<fieldset id="customer">
<legend>Which demo customer are you?</legend>
{{range .Customers}}<div><input type="radio" id="customer-{{.}}" name="customer" value="{{.}}"><label for="customer-{{.}}">{{.}}</label></div>
{{end}}</fieldset>
<p>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</p>
</form>
</main>
</body>
</html>
`))

type approvalView struct {
	authorizeRequest
	Permissions []string
	Expires     string
	Customers   []string
	Error       string
}

func (b *Bank) renderApproval(w http.ResponseWriter, status int, req authorizeRequest, problem string) {
	b.mu.Lock()
	c := b.consents[req.ConsentID]
	view := approvalView{
		authorizeRequest: req,
		Permissions:      slices.Clone(c.permissions),
		Customers:        b.Customers(),
		Error:            problem,
	}
	if c.expiration != nil {
		view.Expires = c.expiration.In(obie.London).Format("2 January 2006 15:04 MST")
	}
	b.mu.Unlock()

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page has no script and must not be framed by another site.
	// form-action is left unset: browsers apply it to the redirect after
	// the form, which goes to the client's origin.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := approvalPage.Execute(w, view); err != nil {
		b.log.Error("failed to render approval page", "error", err)
	}
}
