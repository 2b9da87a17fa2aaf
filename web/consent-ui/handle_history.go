package consentui

import "net/http"

// historyItem is one step on the customer's history page.
type historyItem struct {
	When       string
	ClientName string
	Step       string   // the step in plain words
	Claims     []string // the labels of the claims the request concerns, without values
}

// historyEvents are the steps the history page can put into words.
var historyEvents = map[string]bool{"requested": true, "opened": true, "approved": true, "denied": true,
	"issued": true, "revoked": true, "expired": true}

// handleHistory lists every step of the signed-in customer's requests,
// newest first.
func (h *handler) handleHistory(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		h.redirectToSignIn(w, r, r.URL.RequestURI())
		return
	}
	events, err := h.service.History(r.Context(), s.CustomerID)
	if err != nil {
		h.renderError(w, r, "history", err)
		return
	}

	p := h.newPage(w, r)
	p.Title = p.T("history.title")
	items := make([]historyItem, 0, len(events))
	for _, ev := range events {
		if !historyEvents[ev.Event] {
			h.logger.Error("history step has no wording", "request_id", ev.RequestID, "event", ev.Event)
			continue
		}
		item := historyItem{When: p.DateTime(ev.At), ClientName: ev.ClientName,
			Step: p.T("history.event."+ev.Event, "client", ev.ClientName)}
		for _, c := range ev.Claims {
			label, err := claimLabel(p.translator, ev.ClientName, c)
			if err != nil {
				h.logger.Error("failed to render history step", "request_id", ev.RequestID, "error", err)
				h.renderMessage(w, r, http.StatusInternalServerError, "internal")
				return
			}
			item.Claims = append(item.Claims, label)
		}
		items = append(items, item)
	}
	p.Content = items
	h.render(w, r, http.StatusOK, "history", p)
}
