package consentui

import (
	"net/http"
	"time"
)

// BankAbandoned marks a link the customer started but never finished at
// the bank, because its authorisation lapsed or a newer attempt superseded
// it. The Linked banks page leaves such links out.
const BankAbandoned = "abandoned"

// bankItem is one bank link on the customer's list of linked banks.
type bankItem struct {
	BankName  string
	Status    string // the link's status in plain words
	Refresh   string // when the service last read from the bank, and how that went
	Access    string // until when the bank allows access, or when it ended
	UnlinkURL string // empty once the link is revoked or was never authorised
	// RenewURL is the Renew form's action. It is empty unless the link
	// has ended or nears its expiry and the Service can renew links.
	RenewURL string
}

// handleBanks lists the signed-in customer's bank links with an Unlink link
// beside each one the customer can still end.
func (h *handler) handleBanks(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	links, err := h.service.BankLinks(r.Context(), s.CustomerID)
	if err != nil {
		h.renderError(w, r, "bank links", err)
		return
	}

	p := h.newPage(w, r)
	p.Title = p.T("banks.title")
	now := h.now()
	items := make([]bankItem, 0, len(links))
	for _, link := range links {
		if link.Status == BankAbandoned {
			continue
		}
		item := bankItemOf(p, link, now)
		if _, ok := h.service.(BankRenewer); ok && renewable(link, now) {
			item.RenewURL = renewURL(link.ID)
		}
		items = append(items, item)
	}
	p.Content = items
	h.render(w, r, http.StatusOK, "banks", p)
}

func bankItemOf(p *page, link BankLink, now time.Time) bankItem {
	item := bankItem{BankName: link.BankName, Refresh: refreshText(p, link)}
	status := link.Status
	// A consent past its expiry needs reconfirming even before the next
	// scheduled pull marks it so.
	if status == BankAuthorised && !link.ExpiresAt.IsZero() && !now.Before(link.ExpiresAt) {
		status = BankNeedsRenewal
	}

	switch status {
	case BankAuthorised:
		item.Status = p.T("banks.status.authorised")
		item.Access = p.T("banks.access.until", "datetime", p.DateTime(link.ExpiresAt))
	case BankNeedsRenewal:
		item.Status = p.T("banks.status.renewal")
		item.Access = p.T("banks.access.renewal")
	case BankExpired:
		item.Status = p.T("banks.status.expired")
		item.Access = p.T("banks.access.ended", "datetime", p.DateTime(link.ExpiresAt))
	case BankRevoked:
		item.Status = p.T("banks.status.revoked")
		item.Access = p.T("banks.access.revoked")
	case BankAwaitingAuthorisation:
		item.Status = p.T("banks.status.awaiting")
		item.Access = p.T("banks.access.awaiting")
	case BankRejected:
		item.Status = p.T("banks.status.rejected")
		item.Access = p.T("banks.access.rejected")
	case BankReplaced:
		item.Status = p.T("banks.status.replaced")
		item.Access = p.T("banks.access.replaced")
	default:
		item.Status = p.T("banks.status.unknown")
	}
	if link.Status != BankRevoked && link.Status != BankRejected && link.Status != BankReplaced {
		item.UnlinkURL = unlinkURL(link.ID)
	}
	return item
}

func refreshText(p *page, link BankLink) string {
	if link.LastRefresh.IsZero() {
		return p.T("banks.refresh.never")
	}
	when := p.DateTime(link.LastRefresh)
	switch link.LastOutcome {
	case RefreshComplete:
		return p.T("banks.refresh.complete", "datetime", when)
	case RefreshIncomplete:
		return p.T("banks.refresh.incomplete", "datetime", when)
	case RefreshFailed:
		return p.T("banks.refresh.failed", "datetime", when)
	}
	return p.T("banks.refresh.other", "datetime", when)
}

func unlinkURL(linkID string) string {
	return "/consent/banks/" + pathEscape(linkID) + "/unlink"
}

// unlinkView is the content of the page that asks the customer to confirm
// unlinking a bank.
type unlinkView struct {
	BankName    string
	Consequence []string
	UnlinkURL   string
}

// handleUnlinkConfirm asks the customer to confirm unlinking one bank,
// stating what follows, with the Unlink button and a way back.
func (h *handler) handleUnlinkConfirm(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	link, ok := h.loadBankLink(w, r, s)
	if !ok {
		return
	}
	p := h.newPage(w, r)
	if link.Status == BankRevoked {
		h.renderUnlinked(w, r, p, link)
		return
	}

	p.Title = p.T("unlink.title", "bank", link.BankName)
	p.Content = unlinkView{BankName: link.BankName, UnlinkURL: unlinkURL(link.ID), Consequence: []string{
		p.T("unlink.consequence.stop", "bank", link.BankName),
		p.T("unlink.consequence.kept"),
		p.T("unlink.consequence.again", "bank", link.BankName),
	}}
	h.render(w, r, http.StatusOK, "unlink", p)
}

// handleUnlink revokes the bank consent of one link. The form must carry
// the CSRF token of the current session; without it, nothing changes.
func (h *handler) handleUnlink(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, unlinkURL(r.PathValue("id")))
		return
	}
	if !h.sessions.validCSRF(s, r.PostFormValue(csrfField)) {
		h.logger.Info("bank unlink rejected: missing or wrong CSRF token", "consent_id", r.PathValue("id"))
		h.renderMessage(w, r, http.StatusForbidden, "forbidden")
		return
	}
	link, ok := h.loadBankLink(w, r, s)
	if !ok {
		return
	}
	if err := h.service.Unlink(r.Context(), s.CustomerID, link.ID); err != nil {
		h.renderError(w, r, "unlink", err)
		return
	}
	h.logger.Info("bank unlinked", "consent_id", link.ID)
	h.renderUnlinked(w, r, h.newPage(w, r), link)
}

// loadBankLink finds the link named in the path among the customer's own,
// so another customer's link is not found. On failure it has written the
// error page and returns false.
func (h *handler) loadBankLink(w http.ResponseWriter, r *http.Request, s session) (BankLink, bool) {
	links, err := h.service.BankLinks(r.Context(), s.CustomerID)
	if err != nil {
		h.renderError(w, r, "bank links", err)
		return BankLink{}, false
	}
	for _, link := range links {
		if link.ID == r.PathValue("id") {
			return link, true
		}
	}
	h.logger.Debug("bank link not found for this customer", "consent_id", r.PathValue("id"))
	h.renderMessage(w, r, http.StatusNotFound, "notfound")
	return BankLink{}, false
}

// renderUnlinked shows that the bank is unlinked.
func (h *handler) renderUnlinked(w http.ResponseWriter, r *http.Request, p *page, link BankLink) {
	p.Title = p.T("result.unlinked.title", "bank", link.BankName)
	p.Content = resultView{Text: p.T("result.unlinked.text", "bank", link.BankName),
		BackURL: "/consent/banks", BackText: p.T("nav.backbanks")}
	h.render(w, r, http.StatusOK, "result", p)
}

func renewURL(linkID string) string {
	return "/consent/banks/" + pathEscape(linkID) + "/renew"
}

// renewable reports whether the customer may renew link at now: its access
// ended (expired, or revoked at the bank or by the customer), or it ends
// within RenewalWindow.
func renewable(link BankLink, now time.Time) bool {
	switch link.Status {
	case BankNeedsRenewal, BankExpired, BankRevoked:
		return true
	case BankAuthorised:
		return !link.ExpiresAt.IsZero() && !now.Before(link.ExpiresAt.Add(-RenewalWindow))
	}
	return false
}

// handleRenew starts a new consent at the bank of one of the customer's
// links and sends the browser to the bank. The form must carry the CSRF
// token of the current session; without it, nothing changes.
func (h *handler) handleRenew(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, "/consent/banks")
		return
	}
	if !h.sessions.validCSRF(s, r.PostFormValue(csrfField)) {
		h.logger.Info("bank renewal rejected: missing or wrong CSRF token", "consent_id", r.PathValue("id"))
		h.renderMessage(w, r, http.StatusForbidden, "forbidden")
		return
	}
	renewer, ok := h.service.(BankRenewer)
	if !ok {
		h.renderMessage(w, r, http.StatusNotFound, "notfound")
		return
	}
	link, ok := h.loadBankLink(w, r, s)
	if !ok {
		return
	}
	if !renewable(link, h.now()) {
		h.logger.Info("bank renewal rejected: link is not renewable now", "consent_id", link.ID, "status", link.Status)
		h.renderMessage(w, r, http.StatusConflict, "renewgone")
		return
	}
	authURL, err := renewer.RenewBank(r.Context(), s.CustomerID, link.ID)
	if err != nil {
		h.renderError(w, r, "renew bank", err)
		return
	}
	h.logger.Info("bank renewal started", "consent_id", link.ID)

	// The consent pages' CSP has form-action 'self', which browsers apply
	// to the redirects of a form submission, so a 303 to the bank would be
	// blocked. This page sends the browser on with a Refresh header, a new
	// navigation, and links to the bank for browsers that ignore it.
	w.Header().Set("Refresh", "0; url="+authURL)
	p := h.newPage(w, r)
	p.Title = p.T("renew.title", "bank", link.BankName)
	p.Content = resultView{Approved: true, Text: p.T("renew.text", "bank", link.BankName),
		BackURL: authURL, BackText: p.T("renew.continue", "bank", link.BankName)}
	h.render(w, r, http.StatusOK, "result", p)
}
