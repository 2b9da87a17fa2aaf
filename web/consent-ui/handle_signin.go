package consentui

import (
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// signInView is the content of the sign-in page: a link to the OpenID
// provider, the development sign-in's list of demo customers, or both.
type signInView struct {
	OIDCURL   string // empty when no provider is configured
	Dev       bool
	Customers []string
	Next      string
	Invalid   bool // the form was sent without a customer the service offers
}

// handleSignInForm shows the sign-in page.
func (h *handler) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if !h.devSignIn && h.oidc == nil {
		h.renderMessage(w, r, http.StatusNotFound, "signinoff")
		return
	}
	h.renderSignIn(w, r, http.StatusOK, signInView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, view signInView) {
	if h.oidc != nil {
		view.OIDCURL = oidcStartURL(view.Next)
	}
	if h.devSignIn {
		customers, err := h.service.Customers(r.Context())
		if err != nil {
			h.renderError(w, r, "customers", err)
			return
		}
		view.Dev, view.Customers = true, customers
	}

	p := h.newPage(w, r)
	p.Title = p.T("signin.title")
	p.HasError = view.Invalid
	p.Content = view
	h.render(w, r, status, "signin", p)
}

// handleSignIn starts a session for the chosen demo customer and redirects
// to the page the customer came from.
func (h *handler) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if !h.devSignIn {
		// With a provider configured there is a sign-in, just not this one.
		key := "signinoff"
		if h.oidc != nil {
			key = "notfound"
		}
		h.renderMessage(w, r, http.StatusNotFound, key)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.logger.Debug("invalid sign-in form", "error", err)
	}
	customerID := r.PostForm.Get("customer")
	next := safeNext(r.PostForm.Get("next"))

	// Only customers the service offers can be chosen, whatever the form sent.
	customers, err := h.service.Customers(r.Context())
	if err != nil {
		h.renderError(w, r, "customers", err)
		return
	}
	if customerID == "" || !slices.Contains(customers, customerID) {
		h.renderSignIn(w, r, http.StatusBadRequest, signInView{Next: next, Invalid: true})
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
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleSignOut ends the session: it records the session ID in
// Options.EndedSessions, so no copy of the cookie works afterwards, and
// deletes the cookie. Like every other form, it needs the session's CSRF
// token, so another site cannot sign the customer out.
func (h *handler) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(r); ok {
		if !h.sessions.validCSRF(s, r.PostFormValue(csrfField)) {
			h.renderMessage(w, r, http.StatusForbidden, "forbidden")
			return
		}
		if h.ended != nil {
			if err := h.ended.EndSession(r.Context(), s.ID, s.Expires); err != nil {
				// The cookie stays, so the page still shows the customer
				// as signed in and they can try again.
				h.logger.Error("failed to end consent session", "error", err)
				h.renderMessage(w, r, http.StatusInternalServerError, "internal")
				return
			}
		}
	}
	h.sessions.clearSessionCookie(w, r)

	// The header of this page must no longer show the customer as signed in.
	p := h.newPage(w, r)
	p.SignedIn, p.Customer, p.CSRFToken = false, "", ""
	h.renderMessagePage(w, r, http.StatusOK, "signedout", p)
}

// safeNext returns next if it is a path under /consent/ on this site, and
// "/consent/" otherwise, so the sign-in cannot redirect anywhere else.
func safeNext(next string) string {
	const fallback = "/consent/"
	if next == "" || !strings.HasPrefix(next, "/consent/") || strings.ContainsAny(next, "\\\r\n\t") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}

	// "/consent/../x" starts with the prefix but leads outside it.
	cleaned := path.Clean(u.Path)
	if cleaned != "/consent" && !strings.HasPrefix(cleaned, "/consent/") {
		return fallback
	}
	return next
}

// redirectToSignIn sends a visitor without a session to the sign-in, which
// brings them back to next afterwards. With no sign-in configured, the
// visitor gets a 401 page instead.
func (h *handler) redirectToSignIn(w http.ResponseWriter, r *http.Request, next string) {
	if !h.devSignIn && h.oidc == nil {
		h.renderMessage(w, r, http.StatusUnauthorized, "signinoff")
		return
	}
	http.Redirect(w, r, "/consent/signin?next="+url.QueryEscape(safeNext(next)), http.StatusSeeOther)
}
