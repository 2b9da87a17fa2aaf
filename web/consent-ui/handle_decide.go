package consentui

import (
	"net/http"
	"net/url"
)

// resultView is the content of the page shown after a decision.
type resultView struct {
	Approved bool
	Text     string
	// BackURL and BackText name the link below the text; empty means the
	// list of requests.
	BackURL  string
	BackText string
}

// handleDecide records the customer's approval or denial. The form must
// carry the CSRF token of the current session. Without it, nothing is
// decided.
func (h *handler) handleDecide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.session(r)
		if !ok {
			h.redirectToSignIn(w, r, "/consent/requests/"+pathEscape(r.PathValue("id")))
			return
		}
		if !h.sessions.validCSRF(s, r.PostFormValue(csrfField)) {
			h.logger.Info("consent decision rejected: missing or wrong CSRF token", "request_id", r.PathValue("id"))
			h.renderMessage(w, r, http.StatusForbidden, "forbidden")
			return
		}
		req, ok := h.loadRequest(w, r, s)
		if !ok {
			return
		}

		if err := h.service.Decide(r.Context(), s.CustomerID, req.ID, approve); err != nil {
			h.renderError(w, r, "decide", err)
			return
		}
		h.logger.Info("consent decision recorded", "request_id", req.ID, "client_id", req.ClientID, "approved", approve)

		p := h.newPage(w, r)
		view := resultView{Approved: approve}
		if approve {
			p.Title = p.T("result.approved.title", "client", req.ClientName)
			view.Text = p.T("result.approved.text", "client", req.ClientName, "duration", p.Duration(req.TokenLifetime))
		} else {
			p.Title = p.T("result.denied.title")
			view.Text = p.T("result.denied.text", "client", req.ClientName)
		}
		p.Content = view
		h.render(w, r, http.StatusOK, "result", p)
	}
}

func pathEscape(s string) string { return url.PathEscape(s) }
