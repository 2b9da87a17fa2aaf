package consentui

import (
	"net/http"

	"github.com/openbanking-insights/insights/internal/consent"
)

// sharedItem is one proof on the customer's list of shared proofs.
type sharedItem struct {
	ClientName string
	Purpose    string
	Claims     []string // the claims' labels, without values
	Shared     string   // when the proof was issued
	Status     string   // valid until, expired on or revoked on a time
	// Consent states until when a lender may fetch fresh results under a
	// long-lived consent; empty for a proof of one token.
	Consent   string
	RevokeURL string // empty unless the proof can still be revoked
}

// handleShared lists the proofs the signed-in customer has shared, with a
// Revoke link beside each one still valid.
func (h *handler) handleShared(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	proofs, err := h.service.Shared(r.Context(), s.CustomerID)
	if err != nil {
		h.renderError(w, r, "shared", err)
		return
	}

	p := h.newPage(w, r)
	p.Title = p.T("shared.title")
	items := make([]sharedItem, 0, len(proofs))
	for _, proof := range proofs {
		item, err := h.sharedItem(p, proof)
		if err != nil {
			h.logger.Error("failed to render shared proof", "request_id", proof.Request.ID, "error", err)
			h.renderMessage(w, r, http.StatusInternalServerError, "internal")
			return
		}
		items = append(items, item)
	}
	p.Content = items
	h.render(w, r, http.StatusOK, "shared", p)
}

func (h *handler) sharedItem(p *page, proof consent.SharedProof) (sharedItem, error) {
	req := proof.Request
	item := sharedItem{ClientName: req.ClientName, Purpose: req.Purpose, Shared: p.DateTime(proof.IssuedAt)}
	for _, c := range req.Claims {
		label, err := claimLabel(p.translator, req.ClientName, c)
		if err != nil {
			return item, err
		}
		item.Claims = append(item.Claims, label)
	}

	now := h.now()
	switch {
	case proof.Revoked():
		item.Status = p.T("shared.status.revoked", "datetime", p.DateTime(proof.RevokedAt))
	case !now.Before(proof.ExpiresAt):
		item.Status = p.T("shared.status.expired", "datetime", p.DateTime(proof.ExpiresAt))
	default:
		item.Status = p.T("shared.status.valid", "datetime", p.DateTime(proof.ExpiresAt))
		item.RevokeURL = revokeURL(req.ID)
	}

	// Under a long-lived consent the lender may fetch fresh tokens after
	// the latest one expired, so the consent stays revocable until its end.
	if req.ConsentDuration > 0 && !req.ConsentUntil.IsZero() && !proof.Revoked() {
		if now.Before(req.ConsentUntil) {
			item.Consent = p.T("shared.consent.active", "client", req.ClientName, "datetime", p.DateTime(req.ConsentUntil))
			item.RevokeURL = revokeURL(req.ID)
		} else {
			item.Consent = p.T("shared.consent.ended", "client", req.ClientName, "datetime", p.DateTime(req.ConsentUntil))
		}
	}
	return item, nil
}

func revokeURL(requestID string) string {
	return "/consent/shared/" + pathEscape(requestID) + "/revoke"
}

// revokeView is the content of the page that asks the customer to confirm.
type revokeView struct {
	ClientName  string
	Claims      []string
	Consequence string
	RevokeURL   string
}

// handleRevokeConfirm asks the customer to confirm revoking one proof,
// stating what follows, with the Revoke button and a way back.
func (h *handler) handleRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	proof, err := h.service.SharedProof(r.Context(), s.CustomerID, r.PathValue("id"))
	if err != nil {
		h.renderError(w, r, "shared proof", err)
		return
	}
	p := h.newPage(w, r)
	if proof.Revoked() {
		h.renderRevoked(w, r, p, proof)
		return
	}

	req := proof.Request
	view := revokeView{ClientName: req.ClientName, RevokeURL: revokeURL(req.ID),
		Consequence: p.T("revoke.consequence", "client", req.ClientName)}
	if req.ConsentDuration > 0 {
		view.Consequence += p.T("format.sentence.separator") + p.T("revoke.consequence.consent", "client", req.ClientName)
	}
	for _, c := range req.Claims {
		label, err := claimLabel(p.translator, req.ClientName, c)
		if err != nil {
			h.logger.Error("failed to render shared proof", "request_id", req.ID, "error", err)
			h.renderMessage(w, r, http.StatusInternalServerError, "internal")
			return
		}
		view.Claims = append(view.Claims, label)
	}
	p.Title = p.T("revoke.title", "client", req.ClientName)
	p.Content = view
	h.render(w, r, http.StatusOK, "revoke", p)
}

// handleRevoke revokes one proof. The form must carry the CSRF token of the
// current session; without it, nothing is revoked.
func (h *handler) handleRevoke(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, revokeURL(r.PathValue("id")))
		return
	}
	if !h.sessions.validCSRF(s, r.PostFormValue(csrfField)) {
		h.logger.Info("revocation rejected: missing or wrong CSRF token", "request_id", r.PathValue("id"))
		h.renderMessage(w, r, http.StatusForbidden, "forbidden")
		return
	}
	proof, err := h.service.SharedProof(r.Context(), s.CustomerID, r.PathValue("id"))
	if err != nil {
		h.renderError(w, r, "shared proof", err)
		return
	}
	if err := h.service.Revoke(r.Context(), s.CustomerID, proof.Request.ID); err != nil {
		h.renderError(w, r, "revoke", err)
		return
	}
	h.logger.Info("shared proof revoked", "request_id", proof.Request.ID, "client_id", proof.Request.ClientID)
	h.renderRevoked(w, r, h.newPage(w, r), proof)
}

// renderRevoked shows that the proof is revoked.
func (h *handler) renderRevoked(w http.ResponseWriter, r *http.Request, p *page, proof consent.SharedProof) {
	client := proof.Request.ClientName
	p.Title = p.T("result.revoked.title")
	p.Content = resultView{Text: p.T("result.revoked.text", "client", client),
		BackURL: "/consent/shared", BackText: p.T("nav.backshared")}
	h.render(w, r, http.StatusOK, "result", p)
}
