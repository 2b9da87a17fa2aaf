package consentui

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// decisionRedirecter is implemented by a Service whose requests may carry
// a redirect URI the client registered. *consent.Service implements it.
type decisionRedirecter interface {
	// DecisionRedirect returns the URL to send the customer to after the
	// decision, with request_id, status and state in its query; ok is
	// false when the request has no redirect URI.
	DecisionRedirect(ctx context.Context, requestID string, approved bool) (target string, ok bool, err error)
}

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

		decision := consent.Decision{Approve: approve}
		if approve && asksFullAddress(req) {
			decision.DiscloseAddress = r.PostFormValue(discloseAddressField) == discloseAddressValue
		}
		if err := h.service.DecideWith(r.Context(), s.CustomerID, req.ID, decision); err != nil {
			h.renderError(w, r, "decide", err)
			return
		}
		h.logger.Info("consent decision recorded", "request_id", req.ID, "client_id", req.ClientID,
			"approved", approve, "address_disclosed", decision.DiscloseAddress)

		p := h.newPage(w, r)
		view := resultView{Approved: approve}
		if target := h.redirectTarget(r, req.ID, approve); target != "" {
			// The consent pages' CSP has form-action 'self', and browsers
			// apply it to redirects of a form submission, so a 303 to the
			// client would be blocked. The result page instead sends the
			// browser on with a Refresh header, a new navigation, and
			// links to the same URL for browsers that ignore the header.
			w.Header().Set("Refresh", "0; url="+target)
			view.BackURL, view.BackText = target, p.T("result.return", "client", req.ClientName)
		}
		if approve {
			p.Title = p.T("result.approved.title", "client", req.ClientName)
			view.Text = p.T("result.approved.text", "client", req.ClientName, "duration", p.Duration(req.TokenLifetime))
			if until := h.consentUntil(r, req); !until.IsZero() {
				view.Text += p.T("format.sentence.separator") +
					p.T("result.approved.consent", "client", req.ClientName, "datetime", p.DateTime(until))
			}
		} else {
			p.Title = p.T("result.denied.title")
			view.Text = p.T("result.denied.text", "client", req.ClientName)
		}
		p.Content = view
		h.render(w, r, http.StatusOK, "result", p)
	}
}

func pathEscape(s string) string { return url.PathEscape(s) }

// The approve form's checkbox that shares the customer's whole address. An
// unticked checkbox is absent from the form, so absence means no.
const (
	discloseAddressField = "disclose_address"
	discloseAddressValue = "yes"
)

// asksFullAddress reports whether one of req's claims requests the whole
// address, the only case where the checkbox is shown.
func asksFullAddress(req insights.AttestationRequest) bool {
	for _, c := range req.Claims {
		if c.Kind == insights.ClaimAddressMatches && c.FullAddress {
			return true
		}
	}
	return false
}

// redirectTarget returns the client's redirect URI for a decided request,
// with request_id, status and state in its query, or "" when the request
// has none or looking it up failed (the decision is recorded either way).
func (h *handler) redirectTarget(r *http.Request, requestID string, approved bool) string {
	redirecter, ok := h.service.(decisionRedirecter)
	if !ok {
		return ""
	}
	target, ok, err := redirecter.DecisionRedirect(r.Context(), requestID, approved)
	if err != nil {
		h.logger.Error("read redirect URI failed; showing the result page only", "request_id", requestID, "err", err)
		return ""
	}
	if !ok {
		return ""
	}
	h.logger.Info("sending customer back to client", "request_id", requestID)
	return target
}

// consentUntil returns the end of a long-lived consent just approved, as
// the service recorded it, or zero for a one-token request or when reading
// the request failed (the decision is recorded either way).
func (h *handler) consentUntil(r *http.Request, req insights.AttestationRequest) time.Time {
	if req.ConsentDuration == 0 {
		return time.Time{}
	}
	decided, err := h.service.Request(r.Context(), req.ID)
	if err != nil {
		h.logger.Error("read approved request failed; result page omits the consent end", "request_id", req.ID, "err", err)
		return time.Time{}
	}
	return decided.ConsentUntil
}
