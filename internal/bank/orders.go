package bank

import (
	"encoding/json"
	"net/http"
	"slices"
)

// orderIDFields names the identifier field of each payment order resource,
// by the path segment that serves it.
var orderIDFields = map[string]string{
	"direct-debits":      "DirectDebitId",
	"standing-orders":    "StandingOrderId",
	"scheduled-payments": "ScheduledPaymentId",
}

// handleCancelOrder serves POST /admin/cancel-order: the customer cancels a
// direct debit, standing order or scheduled payment, so the bank stops
// listing it, as ASPSPs do. The body is {"customer": ..., "resource":
// "standing-orders", "id": ...}. It returns 404 when no such order exists.
func (b *Bank) handleCancelOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Customer string `json:"customer"`
		Resource string `json:"resource"`
		ID       string `json:"id"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeAdminError(w, http.StatusBadRequest, "invalid request: "+err.Error())
		return
	}
	field, ok := orderIDFields[req.Resource]
	if !ok {
		writeAdminError(w, http.StatusBadRequest, `resource must be "direct-debits", "standing-orders" or "scheduled-payments"`)
		return
	}
	if req.Customer == "" || req.ID == "" {
		writeAdminError(w, http.StatusBadRequest, "customer and id are required")
		return
	}

	b.mu.Lock()
	removed := false
	if c, ok := b.customers[req.Customer]; ok {
		list := map[string]*[]record{
			"direct-debits": &c.directDebits, "standing-orders": &c.standingOrders,
			"scheduled-payments": &c.scheduledPayments,
		}[req.Resource]
		n := len(*list)
		*list = slices.DeleteFunc(slices.Clone(*list), func(rec record) bool {
			var id string
			_ = json.Unmarshal(rec.fields[field], &id)
			return id == req.ID
		})
		removed = len(*list) < n
	}
	b.mu.Unlock()

	if !removed {
		writeAdminError(w, http.StatusNotFound, "no order of this customer and resource has this id")
		return
	}
	b.log.Info("payment order cancelled", "resource", req.Resource)
	writeJSON(w, http.StatusOK, map[string]string{"customer": req.Customer, "resource": req.Resource, "cancelled": req.ID})
}
