package consentui

import (
	"net/http"
	"time"
)

// bankItem is one bank link on the customer's list of linked banks.
type bankItem struct {
	BankName  string
	Status    string // the link's status in plain words
	Refresh   string // when the service last read from the bank, and how that went
	Access    string // until when the bank allows access, or when it ended
	UnlinkURL string // empty once the link is revoked or was never authorised
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
		items = append(items, bankItemOf(p, link, now))
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
	default:
		item.Status = p.T("banks.status.unknown")
	}
	if link.Status != BankRevoked && link.Status != BankRejected {
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
