package bank

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
)

// readGrant is the scope of an AISP read: the consent and its customer.
// Handlers run with Bank.mu held and return stored records, which
// pageLocked copies before the lock is released.
type readGrant struct {
	consent  *consent
	customer *customer
}

// result is the Data of a read: the records of one resource, served as an
// array and paged, or as a single object when single is set (Party of
// GET /party). A handler returns the stored records without copying them.
// pageLocked copies only the records of the requested page, so serving a
// page costs its own size and not the size of the whole read.
type result struct {
	resource string
	records  []record
	// transactions, when set, is served instead of records: the entries a
	// transaction read selected, in booking order. source is their
	// customer, whose transactions file holds their lines.
	transactions []*transaction
	source       *customer
	// drop lists the fields left out of every served record, such as the
	// Detail-only ones without a Detail permission.
	drop []string
	// edit, when set, changes each served copy, such as masking PANs.
	edit   func(fields map[string]json.RawMessage)
	single bool
	// meta holds extra Meta members such as FirstAvailableDateTime.
	meta map[string]any
}

// count returns the number of records the read selected.
func (res *result) count() int {
	if res.transactions != nil {
		return len(res.transactions)
	}
	return len(res.records)
}

// copyRange copies the records from index start up to end, leaving out
// the fields in drop and applying edit. The caller holds Bank.mu, because
// handleAdvance rewrites stored transactions.
func (res *result) copyRange(start, end int) ([]map[string]json.RawMessage, error) {
	if res.transactions != nil && end > start {
		if err := res.source.file.checkUnchanged(); err != nil {
			return nil, err
		}
	}
	out := make([]map[string]json.RawMessage, 0, end-start)
	for i := start; i < end; i++ {
		var fields map[string]json.RawMessage
		if res.transactions != nil {
			var err error
			if fields, err = res.source.fields(res.transactions[i]); err != nil {
				return nil, err
			}
		} else {
			fields = maps.Clone(res.records[i].fields)
		}
		for _, f := range res.drop {
			delete(fields, f)
		}
		if res.edit != nil {
			res.edit(fields)
		}
		out = append(out, fields)
	}
	return out, nil
}

// apiError is a refusal a read handler returns.
type apiError struct {
	status  int
	message string
	errs    []obError
}

type readHandler func(r *http.Request, g readGrant) (*result, *apiError)

// resourceRoute is one AISP read: its path under the AISP prefix, the
// permissions of which the consent needs at least one, and its handler.
type resourceRoute struct {
	pattern string
	anyOf   []string
	handler readHandler
}

func (b *Bank) resourceRoutes() []resourceRoute {
	accounts := []string{permAccountsBasic, permAccountsDetail}
	transactions := []string{permTransactionsBasic, permTransactionsDetail}
	standingOrders := []string{permStandingOrdersBasic, permStandingOrdersDetail}
	scheduled := []string{permScheduledPaymentsBasic, permScheduledPaymentsDetail}
	return []resourceRoute{
		{"/accounts", accounts, b.readAccounts},
		{"/accounts/{AccountId}", accounts, b.readAccounts},
		{"/balances", []string{permBalances}, b.readBalances},
		{"/accounts/{AccountId}/balances", []string{permBalances}, b.readBalances},
		{"/transactions", transactions, b.readTransactions},
		{"/accounts/{AccountId}/transactions", transactions, b.readTransactions},
		{"/party", []string{permPartyPSU}, b.readPartyPSU},
		{"/accounts/{AccountId}/party", []string{permParty}, b.readAccountParty},
		{"/accounts/{AccountId}/parties", []string{permParty}, b.readAccountParties},
		{"/direct-debits", []string{permDirectDebits}, b.readDirectDebits},
		{"/accounts/{AccountId}/direct-debits", []string{permDirectDebits}, b.readDirectDebits},
		{"/standing-orders", standingOrders, b.readStandingOrders},
		{"/accounts/{AccountId}/standing-orders", standingOrders, b.readStandingOrders},
		{"/scheduled-payments", scheduled, b.readScheduledPayments},
		{"/accounts/{AccountId}/scheduled-payments", scheduled, b.readScheduledPayments},
	}
}

// aisp authorises a read: a live access token bound to an authorised,
// unexpired consent that holds one of the route's permissions. Refusals
// follow the OBIE read/write profile: 401 for a missing, unknown or
// expired token, 403 for a consent that is not Authorised, has expired,
// or lacks the permission.
func (b *Bank) aisp(rt resourceRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		res, apiErr := b.authoriseReadLocked(r, rt)
		var env *envelope
		if apiErr == nil {
			env, apiErr = b.pageLocked(r, res)
		}
		b.mu.Unlock()

		if apiErr != nil {
			if apiErr.status == http.StatusUnauthorized {
				writeUnauthorized(w, apiErr.message)
				return
			}
			b.log.Debug("read refused", "path", r.URL.Path, "status", apiErr.status)
			writeError(w, apiErr.status, apiErr.message, apiErr.errs...)
			return
		}
		writeJSON(w, http.StatusOK, env)
	}
}

func (b *Bank) authoriseReadLocked(r *http.Request, rt resourceRoute) (*result, *apiError) {
	at, reason := b.lookupAccessLocked(r)
	if at == nil {
		return nil, &apiError{status: http.StatusUnauthorized, message: reason}
	}
	if at.consentID == "" {
		return nil, forbidden(codeConsentMismatch, "a client-credentials token cannot read account data; use the token of an authorised consent")
	}
	c := b.consents[at.consentID]
	if reason := c.usableLocked(b.now()); reason != "" {
		return nil, forbidden(codeInvalidConsentStatus, reason)
	}
	if !slices.ContainsFunc(rt.anyOf, c.has) {
		return nil, forbidden(codeConsentMismatch, "consent does not grant "+strings.Join(rt.anyOf, " or "))
	}
	return rt.handler(r, readGrant{consent: c, customer: b.customers[c.customer]})
}

func forbidden(code, message string) *apiError {
	return &apiError{status: http.StatusForbidden, message: "Forbidden.", errs: []obError{{ErrorCode: code, Message: message}}}
}

// filterAccount returns the records of recs that belong to the path's
// AccountId (all of them when the path has none), or a 404 when the
// customer has no such account.
func (g readGrant) filterAccount(r *http.Request, recs []record) ([]record, *apiError) {
	id := r.PathValue("AccountId")
	if id == "" {
		return recs, nil
	}
	if !slices.ContainsFunc(g.customer.accounts, func(a record) bool { return a.accountID == id }) {
		return nil, &apiError{status: http.StatusNotFound, message: "Account not found.", errs: []obError{{ErrorCode: codeResourceNotFound, Message: "no account of this consent has this AccountId", Path: "AccountId"}}}
	}
	var out []record
	for _, rec := range recs {
		if rec.accountID == id {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Fields that OBIE v3.1 returns only under a Detail permission.
var (
	accountDetailFields     = []string{"Account", "Servicer"}
	transactionDetailFields = []string{
		"TransactionInformation", "Balance", "MerchantDetails",
		"CreditorAgent", "CreditorAccount", "DebtorAgent", "DebtorAccount",
		"UltimateCreditor", "UltimateDebtor",
	}
	creditorDetailFields = []string{"CreditorAgent", "CreditorAccount"}
)

func (b *Bank) readAccounts(r *http.Request, g readGrant) (*result, *apiError) {
	recs, apiErr := g.filterAccount(r, g.customer.accounts)
	if apiErr != nil {
		return nil, apiErr
	}
	res := &result{resource: "Account", records: recs}
	if !g.consent.has(permAccountsDetail) {
		res.drop = accountDetailFields
	}
	if !g.consent.has(permPAN) {
		res.edit = maskAccountPANs
	}
	return res, nil
}

func (b *Bank) readBalances(r *http.Request, g readGrant) (*result, *apiError) {
	recs, apiErr := g.filterAccount(r, g.customer.balances)
	if apiErr != nil {
		return nil, apiErr
	}
	return &result{resource: "Balance", records: recs}, nil
}

// readPartyPSU serves GET /party: the customer who authorised the consent,
// the first party of party.json.
func (b *Bank) readPartyPSU(_ *http.Request, g readGrant) (*result, *apiError) {
	return firstParty(g)
}

// readAccountParty serves GET /accounts/{AccountId}/party: the account
// holder. A demo customer holds all their accounts alone, so it is the
// first party as well.
func (b *Bank) readAccountParty(r *http.Request, g readGrant) (*result, *apiError) {
	if _, apiErr := g.filterAccount(r, nil); apiErr != nil {
		return nil, apiErr
	}
	return firstParty(g)
}

// firstParty returns the first party of party.json, or 404 when the file
// lists none.
func firstParty(g readGrant) (*result, *apiError) {
	if len(g.customer.parties) == 0 {
		return nil, &apiError{status: http.StatusNotFound, message: "Party not found.", errs: []obError{{ErrorCode: codeResourceNotFound, Message: "no party found for this customer"}}}
	}
	return &result{resource: "Party", records: g.customer.parties[:1], single: true}, nil
}

func (b *Bank) readAccountParties(r *http.Request, g readGrant) (*result, *apiError) {
	if _, apiErr := g.filterAccount(r, nil); apiErr != nil {
		return nil, apiErr
	}
	return &result{resource: "Party", records: g.customer.parties}, nil
}

func (b *Bank) readDirectDebits(r *http.Request, g readGrant) (*result, *apiError) {
	recs, apiErr := g.filterAccount(r, g.customer.directDebits)
	if apiErr != nil {
		return nil, apiErr
	}
	return &result{resource: "DirectDebit", records: recs}, nil
}

func (b *Bank) readStandingOrders(r *http.Request, g readGrant) (*result, *apiError) {
	recs, apiErr := g.filterAccount(r, g.customer.standingOrders)
	if apiErr != nil {
		return nil, apiErr
	}
	return detailOrBasic("StandingOrder", recs, g.consent.has(permStandingOrdersDetail)), nil
}

func (b *Bank) readScheduledPayments(r *http.Request, g readGrant) (*result, *apiError) {
	recs, apiErr := g.filterAccount(r, g.customer.scheduledPayments)
	if apiErr != nil {
		return nil, apiErr
	}
	return detailOrBasic("ScheduledPayment", recs, g.consent.has(permScheduledPaymentsDetail)), nil
}

// detailOrBasic serves recs whole under the Detail permission, and
// without the creditor's agent and account otherwise.
func detailOrBasic(resource string, recs []record, detail bool) *result {
	res := &result{resource: resource, records: recs}
	if !detail {
		res.drop = creditorDetailFields
	}
	return res
}

// maskAccountPANs masks card numbers in an account's Account[] identifiers:
// without ReadPAN an ASPSP returns a PAN masked. This bank keeps the last
// four digits.
func maskAccountPANs(fields map[string]json.RawMessage) {
	raw, ok := fields["Account"]
	if !ok {
		return
	}
	var ids []map[string]any
	if err := json.Unmarshal(raw, &ids); err != nil {
		return
	}
	changed := false
	for _, id := range ids {
		scheme, _ := id["SchemeName"].(string)
		ident, _ := id["Identification"].(string)
		if strings.HasSuffix(scheme, "PAN") && len(ident) > 4 {
			id["Identification"] = strings.Repeat("*", len(ident)-4) + ident[len(ident)-4:]
			changed = true
		}
	}
	if changed {
		fields["Account"], _ = json.Marshal(ids)
	}
}

func validIP(s string) bool { return net.ParseIP(s) != nil }
