package bank

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault kinds accepted by POST /admin/faults.
const (
	kind429       = "429"        // 429 Too Many Requests with Retry-After
	kind503       = "503"        // 503 Service Unavailable with Retry-After
	kind401       = "401"        // 401 as if the access token were revoked
	kindMalformed = "malformed"  // the normal response cut in half: not JSON
	kindNextLoop  = "next-loop"  // Links.Next points to the page itself or an earlier one
	kindBadRecord = "bad-record" // the first transaction of the page has Amount "12,30"
	// One transaction of the page, its first debit or else its first
	// entry, has a minus sign on its Amount and CreditDebitIndicator Debit.
	kindNegativeDebit = "negative-debit"
)

var faultKinds = []string{kind429, kind503, kind401, kindMalformed, kindNextLoop, kindBadRecord, kindNegativeDebit,
	kindIDTokenForeignKey, kindIDTokenWrongNonce}

// defaultRetryAfter is the Retry-After of a 429 or 503 fault that sets
// none, in seconds.
const defaultRetryAfter = 1

// fault makes the next Count requests that match it fail. Customer and
// Path (a substring of the URL path) narrow the match when set. The
// next-loop, bad-record and negative-debit kinds shape a transactions page,
// so they match only GET requests for transactions.
type fault struct {
	ID         string `json:"id"`
	Customer   string `json:"customer,omitempty"`
	Path       string `json:"path,omitempty"`
	Kind       string `json:"kind"`
	Count      int    `json:"count"`
	RetryAfter int    `json:"retryAfter,omitempty"` // seconds
	Remaining  int    `json:"remaining"`
}

type faultKey struct{}

// faultFrom returns the kind of fault that the page of r must carry, or "".
func faultFrom(r *http.Request) string {
	kind, _ := r.Context().Value(faultKey{}).(string)
	return kind
}

// takeFault returns the first fault that matches r and counts it as used.
func (b *Bank) takeFault(r *http.Request) *fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.faults) == 0 {
		return nil
	}

	customer := ""
	if slices.ContainsFunc(b.faults, func(f *fault) bool { return f.Customer != "" }) {
		customer = b.requestCustomerLocked(r)
	}
	transactionsPage := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/transactions")
	codeGrant := r.Method == http.MethodPost && r.URL.Path == "/token" && r.ParseForm() == nil &&
		r.PostForm.Get("grant_type") == "authorization_code"
	for i, f := range b.faults {
		if f.Customer != "" && f.Customer != customer {
			continue
		}
		if f.Path != "" && !strings.Contains(r.URL.Path, f.Path) {
			continue
		}
		if (f.Kind == kindNextLoop || f.Kind == kindBadRecord || f.Kind == kindNegativeDebit) && !transactionsPage {
			continue
		}
		if (f.Kind == kindIDTokenForeignKey || f.Kind == kindIDTokenWrongNonce) && !codeGrant {
			continue
		}
		f.Remaining--
		if f.Remaining == 0 {
			b.faults = slices.Delete(b.faults, i, i+1)
		}
		matched := *f
		return &matched
	}
	return nil
}

// requestCustomerLocked returns the demo customer a request acts for. That
// is the customer of its bearer token's consent, of the code or refresh
// token it redeems, or of its login_hint, and "" when there is none.
func (b *Bank) requestCustomerLocked(r *http.Request) string {
	consentCustomer := func(id string) string {
		if c, ok := b.consents[id]; ok {
			return c.customer
		}
		return ""
	}
	if at, ok := b.access[bearerToken(r)]; ok {
		return consentCustomer(at.consentID)
	}
	if r.URL.Path == "/token" && r.ParseForm() == nil {
		if ac, ok := b.codes[r.PostForm.Get("code")]; ok {
			return consentCustomer(ac.consentID)
		}
		if rt, ok := b.refresh[r.PostForm.Get("refresh_token")]; ok {
			return consentCustomer(rt.consentID)
		}
	}
	return r.URL.Query().Get("login_hint")
}

// serveFault writes the failure of kind f.Kind as the response to r.
func (b *Bank) serveFault(w http.ResponseWriter, r *http.Request, f *fault) {
	b.log.Info("fault injected", "fault_id", f.ID, "kind", f.Kind, "path", r.URL.Path)
	switch f.Kind {
	case kind429, kind503:
		status := http.StatusTooManyRequests
		message := "request rate exceeded"
		if f.Kind == kind503 {
			status = http.StatusServiceUnavailable
			message = "service unavailable"
		}
		// Retry-After in delay-seconds, RFC 9110 section 10.2.3.
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		writeError(w, status, http.StatusText(status)+".", obError{ErrorCode: codeUnexpectedError, Message: message + "; retry after " + strconv.Itoa(f.RetryAfter) + " seconds"})
	case kind401:
		writeUnauthorized(w, "access token revoked")
	case kindMalformed:
		rec := httptest.NewRecorder()
		rec.Header().Set(headerInteractionID, w.Header().Get(headerInteractionID))
		b.mux.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		body := rec.Body.Bytes()
		cut := body[:len(body)/2]
		if len(cut) == 0 {
			cut = []byte("{")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(cut)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(cut)
	default:
		b.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), faultKey{}, f.Kind)))
	}
}

// handleAddFault serves POST /admin/faults.
func (b *Bank) handleAddFault(w http.ResponseWriter, r *http.Request) {
	var f fault
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeAdminError(w, http.StatusBadRequest, "invalid fault: "+err.Error())
		return
	}
	if problem := b.checkFault(&f); problem != "" {
		writeAdminError(w, http.StatusBadRequest, "invalid fault: "+problem)
		return
	}

	b.mu.Lock()
	b.faultSeq++
	f.ID = "fault-" + strconv.Itoa(b.faultSeq)
	f.Remaining = f.Count
	b.faults = append(b.faults, &f)
	b.mu.Unlock()

	b.log.Info("fault added", "fault_id", f.ID, "kind", f.Kind, "count", f.Count)
	writeJSON(w, http.StatusCreated, f)
}

// checkFault validates f and fills in defaults: count 0 means 1, and a 429
// or 503 without retryAfter waits defaultRetryAfter seconds.
func (b *Bank) checkFault(f *fault) string {
	switch {
	case !slices.Contains(faultKinds, f.Kind):
		return fmt.Sprintf("kind %q: want one of %s", f.Kind, strings.Join(faultKinds, ", "))
	case f.Count < 0:
		return "count must not be negative"
	case f.RetryAfter < 0:
		return "retryAfter must not be negative"
	case f.Customer != "" && b.customers[f.Customer] == nil:
		return "customer names no demo customer"
	case f.ID != "" || f.Remaining != 0:
		return "id and remaining are set by the bank"
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.RetryAfter == 0 && (f.Kind == kind429 || f.Kind == kind503) {
		f.RetryAfter = defaultRetryAfter
	}
	return ""
}

// handleListFaults serves GET /admin/faults: the faults not yet used up.
func (b *Bank) handleListFaults(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	list := make([]fault, 0, len(b.faults))
	for _, f := range b.faults {
		list = append(list, *f)
	}
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"faults": list})
}

// handleClearFaults serves DELETE /admin/faults.
func (b *Bank) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	b.faults = nil
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func writeAdminError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

// advanceResult is the response of POST /admin/advance.
type advanceResult struct {
	Customer string        `json:"customer"`
	Booked   []bookedEntry `json:"booked"`
	Vanished []string      `json:"vanished"`
}

type bookedEntry struct {
	PendingTransactionID string `json:"pendingTransactionId"`
	BookedTransactionID  string `json:"bookedTransactionId"`
}

// handleAdvance serves POST /admin/advance {"customer": "..."}: the
// customer's pending entries settle the way they do at real ASPSPs. The
// first pending entry by TransactionId disappears, as an expired card
// authorisation does; every other one becomes Booked under a new
// TransactionId, one day later.
func (b *Bank) handleAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Customer string `json:"customer"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeAdminError(w, http.StatusBadRequest, "invalid request: "+err.Error())
		return
	}
	if req.Customer == "" {
		writeAdminError(w, http.StatusBadRequest, "customer is required")
		return
	}

	b.mu.Lock()
	c, ok := b.customers[req.Customer]
	var res advanceResult
	var err error
	if ok {
		res, err = advance(c)
	}
	b.mu.Unlock()

	if !ok {
		writeAdminError(w, http.StatusNotFound, "customer names no demo customer")
		return
	}
	if err != nil {
		b.log.Error("advance pending entries failed", "error", err)
		writeAdminError(w, http.StatusInternalServerError, "advance failed: a stored transaction could not be rebooked; see the bank log")
		return
	}
	b.log.Info("pending entries advanced", "booked", len(res.Booked), "vanished", len(res.Vanished))
	writeJSON(w, http.StatusOK, res)
}

// advance books c's pending entries in place; see handleAdvance. On an
// error c is left unchanged.
func advance(c *customer) (advanceResult, error) {
	res := advanceResult{Customer: c.id, Booked: []bookedEntry{}, Vanished: []string{}}
	var pending []*transaction
	for _, t := range c.transactions {
		if t.pending {
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		return res, nil
	}
	slices.SortStableFunc(pending, func(a, b *transaction) int {
		if a.id != b.id {
			return strings.Compare(a.id, b.id)
		}
		return int(a.seq) - int(b.seq)
	})

	// Build every booked version before changing anything.
	booked := make([]json.RawMessage, len(pending)-1)
	for i, t := range pending[1:] {
		raw, err := bookedRaw(c, t)
		if err != nil {
			return res, err
		}
		booked[i] = raw
	}

	vanished := pending[0]
	c.transactions = slices.DeleteFunc(c.transactions, func(t *transaction) bool { return t == vanished })
	res.Vanished = append(res.Vanished, vanished.id)

	for i, t := range pending[1:] {
		old := t.id
		book(c, t, booked[i])
		res.Booked = append(res.Booked, bookedEntry{PendingTransactionID: old, BookedTransactionID: t.id})
	}
	sortTransactions(c.transactions)
	c.indexTransactions()
	return res, nil
}

// book turns a pending entry of c into its booked version, whose
// Transaction object bookedRaw returned.
func book(c *customer, t *transaction, raw json.RawMessage) {
	t.id = bookedID(t)
	t.pending = false
	t.setBooking(bookedTime(t))
	if c.rebooked == nil {
		c.rebooked = map[int32]json.RawMessage{}
	}
	c.rebooked[t.seq] = raw
}

// bookedRaw returns the Transaction object of t's booked version. It gets
// a new TransactionId, the old one with "-B" and a hash, because ASPSPs
// often assign a new id on booking. Status becomes Booked (BOOK for a v4.0
// PDNG), and BookingDateTime and ValueDateTime move one day later.
func bookedRaw(c *customer, t *transaction) (json.RawMessage, error) {
	fields, err := c.fields(t)
	if err != nil {
		return nil, err
	}
	status := "Booked"
	if bytes.Equal(fields["Status"], []byte(`"PDNG"`)) {
		status = "BOOK"
	}
	fields["TransactionId"], _ = json.Marshal(bookedID(t))
	fields["Status"], _ = json.Marshal(status)
	fields["BookingDateTime"], _ = json.Marshal(formatTime(bookedTime(t)))
	fields["ValueDateTime"] = fields["BookingDateTime"]
	if _, ok := fields["TransactionMutability"]; ok {
		fields["TransactionMutability"], _ = json.Marshal("Immutable")
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode booked transaction %d: %w", t.seq, err)
	}
	return raw, nil
}

func bookedID(t *transaction) string {
	base := t.id
	if base == "" {
		base = "seq" + strconv.Itoa(int(t.seq))
	}
	sum := sha256.Sum256([]byte(base))
	return base + "-B" + hex.EncodeToString(sum[:4])
}

func bookedTime(t *transaction) time.Time { return t.booking().Add(24 * time.Hour) }
