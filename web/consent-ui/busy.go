package consentui

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

// BusyPage returns the handler that writes the page a customer gets when
// the service rejects a consent page at capacity. The page is in the
// language the other pages would choose for the request (?lang, then the
// language cookie, then Accept-Language), asks the customer to try again
// in a moment, and is sent with status 503 and Cache-Control: no-store.
// The caller sets Retry-After.
//
// The handler reads neither the session nor storage, so that it stays
// cheap while the service is overloaded. The page therefore shows no
// signed-in navigation. A ?lang choice is used but not stored in the
// cookie. On a GET the retry link keeps ?lang, so the page that loads next
// stores it.
//
// Of opts, BusyPage uses only DevSignIn and Logger.
func BusyPage(opts Options) (http.Handler, error) {
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		return nil, fmt.Errorf("consentui: failed to load message catalogs: %w", err)
	}
	tmpl, err := template.ParseFS(templateFS, "templates/layout.html", "templates/message.html")
	if err != nil {
		return nil, fmt.Errorf("consentui: failed to parse the busy page templates: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &busyPage{catalogs: catalogs, tmpl: tmpl, devSignIn: opts.DevSignIn, logger: logger}
	return securityHeaders(b), nil
}

// busyPage writes the at-capacity page.
type busyPage struct {
	catalogs  map[string]catalog // by locale tag
	tmpl      *template.Template // layout.html with message.html
	devSignIn bool
	logger    *slog.Logger
}

func (b *busyPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	locale, _ := chooseLocale(r)
	p := &page{
		// The page shows no date or time, so the zone is never used.
		translator: translator{locale: locale, catalog: b.catalogs[locale], zone: time.UTC, missing: b.logMissingMessage},
		DevSignIn:  b.devSignIn,
	}
	p.SwitchLocale = localeChinese
	if locale == localeChinese {
		p.SwitchLocale = localeEnglish
	}
	p.SwitchURL = switchURL(r, p.SwitchLocale)
	p.Title = p.T("busy.title")
	p.Content = busyView(r, p)

	var buf bytes.Buffer
	if err := b.tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
		b.logger.Error("failed to render the busy page", "locale", locale, "error", err)
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = buf.WriteTo(w)
}

// busyView returns the text of the busy page and its link. A GET or HEAD
// can be repeated, so the link loads the same page again, or the list of
// requests for a path outside /consent/. A posted form was rejected before
// any handler read it, so the text states that the choice was not recorded.
// A link cannot send the form again, so it leads to the list of requests,
// where the customer can open the request again.
func busyView(r *http.Request, p *page) messageView {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return messageView{Text: p.T("busy.text"), LinkURL: safeNext(r.URL.RequestURI()), LinkText: p.T("busy.retry")}
	}
	return messageView{Text: p.T("busy.text.form"), LinkURL: "/consent/", LinkText: p.T("nav.back")}
}

func (b *busyPage) logMissingMessage(locale, key string) {
	b.logger.Error("message key missing from catalog", "locale", locale, "key", key)
}
