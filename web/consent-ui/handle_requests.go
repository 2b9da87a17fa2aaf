package consentui

import (
	"net/http"

	"github.com/openbanking-insights/insights"
)

// listItem is one pending request on the customer's start page.
type listItem struct {
	URL        string
	ClientName string
	Purpose    string
	Expires    string
}

// handleList shows the signed-in customer's requests that wait for a
// decision.
func (h *handler) handleList(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	requests, err := h.service.Pending(r.Context(), s.CustomerID)
	if err != nil {
		h.renderError(w, r, "pending", err)
		return
	}

	p := h.newPage(w, r)
	p.Title = p.T("list.title")
	now := h.now()
	items := make([]listItem, 0, len(requests))
	for _, req := range requests {
		if checkPending(req, now) != nil {
			continue // decided or lapsed since the service listed it
		}
		items = append(items, listItem{
			URL:        "/consent/requests/" + pathEscape(req.ID),
			ClientName: req.ClientName,
			Purpose:    req.Purpose,
			Expires:    p.DateTime(req.ExpiresAt),
		})
	}
	p.Content = items
	h.render(w, r, http.StatusOK, "list", p)
}

// requestView is the content of the page where the customer decides.
type requestView struct {
	ClientName string
	Purpose    string
	Claims     []claimView
	Validity   string // how long an issued token stays valid
	// Consent states until when a lender may fetch fresh results; empty
	// for a request of one token.
	Consent string
	// Lead introduces the claims, naming the whole address when a claim
	// requests it.
	Lead string
	// FullAddress is the address the approve form's checkbox shares; nil
	// when no claim requests it or the bank gave no address.
	FullAddress *addressChoice
	Expires     string // when the request lapses
	ApproveURL  string
	DenyURL     string

	// SelectiveDisclosure is true when the proof is issued as an SD-JWT VC,
	// whose claims the client can show to others one by one.
	SelectiveDisclosure bool
}

// handleRequest shows the requesting client, its purpose, the exact claims
// it would receive and for how long, beside the Approve and Deny forms.
func (h *handler) handleRequest(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	req, ok := h.loadRequest(w, r, s)
	if !ok {
		return
	}
	results, err := h.service.Preview(r.Context(), s.CustomerID, req)
	if err != nil {
		h.renderError(w, r, "preview", err)
		return
	}

	p := h.newPage(w, r)
	claims, err := claimViews(p.translator, req.ClientName, results)
	if err != nil {
		h.logger.Error("failed to render claim sentences", "request_id", req.ID, "error", err)
		h.renderMessage(w, r, http.StatusInternalServerError, "internal")
		return
	}
	base := "/consent/requests/" + pathEscape(req.ID)
	p.Title = p.T("request.title", "client", req.ClientName)
	view := requestView{
		ClientName: req.ClientName,
		Purpose:    req.Purpose,
		Claims:     claims,
		Validity:   p.Duration(req.TokenLifetime),
		Expires:    p.DateTime(req.ExpiresAt),
		ApproveURL: base + "/approve",
		DenyURL:    base + "/deny",

		SelectiveDisclosure: req.Format == insights.TokenSDJWT,
	}
	view.Lead = p.T("request.shared.lead", "client", req.ClientName)
	if asksFullAddress(req) {
		view.Lead = p.T("request.shared.lead.address", "client", req.ClientName)
	}
	for _, c := range claims {
		if c.FullAddress != nil {
			view.FullAddress = c.FullAddress
		}
	}
	if req.ConsentDuration > 0 {
		// ConsentUntil is set on approval, so the page states the end as
		// it would be if the customer approved now.
		view.Consent = p.T("request.consent.text", "client", req.ClientName,
			"duration", p.Duration(req.ConsentDuration),
			"date", p.Date(insights.DateOf(h.now().Add(req.ConsentDuration).In(h.london))))
	}
	p.Content = view
	h.render(w, r, http.StatusOK, "request", p)
}

// loadRequest fetches the request named in the path and checks that this
// customer may decide it now. A request taken up by another customer is
// reported as not found, so its existence is not revealed. On failure it
// has written the error page and returns false.
func (h *handler) loadRequest(w http.ResponseWriter, r *http.Request, s session) (insights.AttestationRequest, bool) {
	req, err := h.service.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		h.renderError(w, r, "request", err)
		return req, false
	}
	if req.CustomerID != "" && req.CustomerID != s.CustomerID {
		h.logger.Debug("consent request belongs to another customer", "request_id", req.ID)
		h.renderMessage(w, r, http.StatusNotFound, "notfound")
		return req, false
	}
	if err := checkPending(req, h.now()); err != nil {
		h.renderError(w, r, "request", err)
		return req, false
	}
	return req, true
}
