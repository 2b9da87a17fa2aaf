package consentui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openbanking-insights/insights"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"signin", "list", "request", "result", "message", "shared", "revoke", "banks", "unlink", "history"}

func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		tmpl, err := template.ParseFS(fsys, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = tmpl
	}
	return pages, nil
}

// page is the data every template receives. Content holds the page's own
// view model.
type page struct {
	translator
	Title     string // the page's h1, also used in <title>
	HasError  bool   // a form on the page failed validation, so <title> starts with "Error:"
	SignedIn  bool
	Customer  string
	CSRFToken string
	DevSignIn bool
	// SwitchURL and SwitchLocale link to this page in the other language.
	SwitchURL    string
	SwitchLocale string
	Content      any
}

// Lang is the value of the lang attribute of <html>.
func (p *page) Lang() string { return p.locale }

// newPage prepares the shared page data, and stores a ?lang choice in a
// cookie for later pages.
func (h *handler) newPage(w http.ResponseWriter, r *http.Request) *page {
	locale, fromQuery := chooseLocale(r)
	if fromQuery {
		http.SetCookie(w, &http.Cookie{
			Name:     langCookie,
			Value:    locale,
			Path:     cookiePath,
			MaxAge:   int((365 * 24 * time.Hour).Seconds()),
			HttpOnly: true,
			Secure:   h.sessions.secure(r),
			SameSite: http.SameSiteLaxMode,
		})
	}

	p := &page{
		translator: translator{locale: locale, catalog: h.catalogs[locale], zone: h.london, missing: h.logMissingMessage},
		DevSignIn:  h.devSignIn,
	}
	p.SwitchLocale = localeChinese
	if locale == localeChinese {
		p.SwitchLocale = localeEnglish
	}
	p.SwitchURL = switchURL(r, p.SwitchLocale)

	if s, ok := h.session(r); ok {
		p.SignedIn = true
		p.Customer = s.CustomerID
		p.CSRFToken = h.sessions.csrfToken(s)
	}
	return p
}

func (h *handler) logMissingMessage(locale, key string) {
	h.logger.Error("message key missing from catalog", "locale", locale, "key", key)
}

// switchURL returns the current page with ?lang set. A page rendered in
// response to a POST cannot be fetched again with GET, so its link leads to
// the list of requests instead.
func switchURL(r *http.Request, locale string) string {
	target := url.URL{Path: "/consent/"}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		target.Path = r.URL.Path
		target.RawQuery = r.URL.RawQuery
	}
	q := target.Query()
	q.Set("lang", locale)
	target.RawQuery = q.Encode()
	return target.String()
}

// render writes a page with status code. Rendering goes to a buffer first so
// a template error still yields a clean 500 page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.logger.Error("failed to render consent page", "page", name, "error", err)
		if name != "message" {
			h.renderMessage(w, r, http.StatusInternalServerError, "internal")
			return
		}
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// messageView is the content of a page that only informs the customer,
// such as an error page.
type messageView struct {
	Text     string
	LinkURL  string
	LinkText string
}

// renderMessage writes one of the message pages named by key: "notfound",
// "conflict", "forbidden", "internal", "signinoff" or "signedout".
func (h *handler) renderMessage(w http.ResponseWriter, r *http.Request, status int, key string) {
	h.renderMessagePage(w, r, status, key, h.newPage(w, r))
}

func (h *handler) renderMessagePage(w http.ResponseWriter, r *http.Request, status int, key string, p *page) {
	p.Title = p.T(key + ".title")
	view := messageView{Text: p.T(key + ".text")}
	switch {
	case key == "signedout" && (h.devSignIn || h.oidc != nil):
		view.LinkURL, view.LinkText = "/consent/signin", p.T("signedout.signin")
	case p.SignedIn:
		view.LinkURL, view.LinkText = "/consent/", p.T("nav.back")
	}
	p.Content = view
	h.render(w, r, status, "message", p)
}

// renderError maps an error from Service onto a page: not_found to 404,
// conflict to "no longer pending", and anything else to a 500 page that
// shows no details.
func (h *handler) renderError(w http.ResponseWriter, r *http.Request, op string, err error) {
	switch insights.ErrorCode(err) {
	case insights.ErrNotFound:
		h.logger.Debug("consent request not found", "op", op, "error", err)
		h.renderMessage(w, r, http.StatusNotFound, "notfound")
	case insights.ErrConflict:
		h.logger.Info("consent request no longer pending", "op", op, "error", err)
		h.renderMessage(w, r, http.StatusConflict, "conflict")
	default:
		h.logger.Error("consent service failed", "op", op, "error", err)
		h.renderMessage(w, r, http.StatusInternalServerError, "internal")
	}
}

// errNotPending is returned for a request the page itself finds decided or
// past its expiry, and renders like a conflict from Service.
var errNotPending = &insights.Error{Code: insights.ErrConflict, Message: "request is no longer pending"}

// checkPending returns errNotPending unless req still waits for a decision.
func checkPending(req insights.AttestationRequest, now time.Time) error {
	if req.Status != insights.RequestPending {
		return fmt.Errorf("request status %s: %w", req.Status, errNotPending)
	}
	if !req.ExpiresAt.IsZero() && !now.Before(req.ExpiresAt) {
		return fmt.Errorf("request expired: %w", errNotPending)
	}
	return nil
}

// securityHeaders sets the headers every response carries. The policy allows
// only this service's own style sheet and images, and no script at all.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		header.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		header.Set("X-Content-Type-Options", "nosniff")
		header.Set("Referrer-Policy", "no-referrer")
		header.Set("X-Frame-Options", "DENY")
		header.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves the embedded style sheet. Unlike pages, it holds
// nothing about a customer, so browsers may cache it for an hour.
func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
