package aspsp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/openbanking-insights/insights/internal/obie"
)

// Resources read by Pull, as Page.Resource names them.
const (
	ResourceAccounts          = "accounts"
	ResourceBalances          = "balances"
	ResourceTransactions      = "transactions"
	ResourceParties           = "parties"
	ResourceDirectDebits      = "direct-debits"
	ResourceStandingOrders    = "standing-orders"
	ResourceScheduledPayments = "scheduled-payments"
	ResourceParty             = "party"
)

// ErrConsentExpired reports that the consent's ExpirationDateTime has
// passed, so Pull sent no further request.
var ErrConsentExpired = errors.New("consent past its ExpirationDateTime")

// queryTimeLayout is the format of fromBookingDateTime and toBookingDateTime,
// written in obie.London time.
// The OBIE Read/Write profile requires that these carry no zone and are read as
// the ASPSP's local time, and UK banks rejected values ending in Z.
const queryTimeLayout = "2006-01-02T15:04:05"

// Page is one response body of a resource read.
type Page struct {
	Resource  string // one of the Resource constants
	AccountID string // empty for accounts and party
	URL       string
	Body      []byte
	// Empty is true when the envelope's Data is null or an object with no
	// member, so the page contains no record. Pull sets it while reading
	// the envelope, so a sink can skip the page without decoding it.
	Empty bool
}

// Window is the transaction range Pull read for one account: From and To
// are the bounds sent to the bank, in UTC. Complete is true when every page
// of the range was read and accepted, so an entry absent from it is absent
// at the bank.
type Window struct {
	AccountID string
	From, To  time.Time
	Complete  bool
}

// Read is one read of an account's resource other than its transactions:
// parties, direct debits, standing orders or scheduled payments. Complete
// is true when every page was read and accepted, so the pages list all of
// the account's records of that resource.
type Read struct {
	Resource  string
	AccountID string
	Complete  bool
}

// Outcome reports one Pull.
type Outcome struct {
	Pages   int
	Windows []Window
	// Reads lists the account reads of parties and payment orders, in the
	// order they were made.
	Reads []Read
	// Problems are the reasons a resource or a page was not read in full,
	// naming URLs and JSON paths but no personal value.
	Problems []string
	// Tokens holds the tokens obtained by a refresh during the pull; it is
	// the zero value when no refresh happened. The caller must store them:
	// a bank that rotates refresh tokens rejects the old one.
	Tokens Tokens
}

// Refreshed reports whether the pull obtained new tokens.
func (o *Outcome) Refreshed() bool { return o.Tokens.Access != "" }

// Pull reads the customer's data under consent: accounts, then for each
// account its balances, transactions from `from` to `to`, parties, direct
// debits, standing orders and scheduled payments, then the party of the
// customer. It reads only what the consent's Permissions allow and sends
// no request at or after its ExpirationDateTime. Every page is handed to
// sink; Links.Next is followed verbatim until absent.
//
// A page that cannot be read, or that sink rejects with ErrPageRejected,
// is recorded in Outcome.Problems, and the account's transaction window is
// then incomplete. Pull returns an error, with the Outcome so far, when
// going on is pointless: the token or the consent is no longer valid, the
// account list cannot be read, the bank cannot be reached, ctx ended, or
// sink failed otherwise.
func (c *Client) Pull(ctx context.Context, tok Tokens, consent Consent, from, to time.Time, sink func(ctx context.Context, page Page) error) (Outcome, error) {
	p := &puller{c: c, tok: tok, consent: consent, sink: sink}
	err := p.run(ctx, from, to)
	return p.out, err
}

type puller struct {
	c         *Client
	tok       Tokens
	refreshed bool
	consent   Consent
	sink      func(context.Context, Page) error
	out       Outcome
	// lastErr is the last read error recorded as a problem.
	lastErr error
}

func (p *puller) run(ctx context.Context, from, to time.Time) error {
	if !p.allowed("ReadAccountsBasic", "ReadAccountsDetail") {
		return errors.New("pull: consent has neither ReadAccountsBasic nor ReadAccountsDetail")
	}

	// Step 1: the accounts the consent covers.
	var accountIDs []string
	complete, err := p.walk(ctx, ResourceAccounts, "", p.api("/accounts"), func(body []byte) {
		accountIDs = appendAccountIDs(accountIDs, body)
	})
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	if !complete {
		if p.lastErr != nil {
			return fmt.Errorf("pull: account list incomplete: %w", p.lastErr)
		}
		return fmt.Errorf("pull: account list incomplete: %s", strings.Join(p.out.Problems, "; "))
	}

	// Step 2: each account's resources.
	for _, id := range accountIDs {
		if err := p.account(ctx, id, from, to); err != nil {
			return fmt.Errorf("pull: %w", err)
		}
	}

	// Step 3: the customer who authorised the consent.
	if p.allowed("ReadPartyPSU") {
		if _, err := p.walk(ctx, ResourceParty, "", p.api("/party"), nil); err != nil {
			return fmt.Errorf("pull: %w", err)
		}
	}
	return nil
}

func (p *puller) account(ctx context.Context, id string, from, to time.Time) error {
	base := "/accounts/" + url.PathEscape(id)
	if p.allowed("ReadBalances") {
		if _, err := p.walk(ctx, ResourceBalances, id, p.api(base+"/balances"), nil); err != nil {
			return err
		}
	}
	if p.allowed("ReadTransactionsBasic", "ReadTransactionsDetail") && p.allowed("ReadTransactionsCredits", "ReadTransactionsDebits") {
		if err := p.transactions(ctx, id, from, to); err != nil {
			return err
		}
	}
	others := []struct {
		resource    string
		permissions []string
	}{
		{ResourceParties, []string{"ReadParty"}},
		{ResourceDirectDebits, []string{"ReadDirectDebits"}},
		{ResourceStandingOrders, []string{"ReadStandingOrdersBasic", "ReadStandingOrdersDetail"}},
		{ResourceScheduledPayments, []string{"ReadScheduledPaymentsBasic", "ReadScheduledPaymentsDetail"}},
	}
	for _, o := range others {
		if !p.allowed(o.permissions...) {
			continue
		}
		complete, err := p.walk(ctx, o.resource, id, p.api(base+"/"+o.resource), nil)
		if err != nil {
			return err
		}
		p.out.Reads = append(p.out.Reads, Read{Resource: o.resource, AccountID: id, Complete: complete})
	}
	return nil
}

// transactions reads one account's transactions and records its window.
func (p *puller) transactions(ctx context.Context, id string, from, to time.Time) error {
	// The bank holds nothing outside the consent's transaction window, so
	// a window reaching past it could not be complete.
	if !p.consent.TransactionFrom.IsZero() && from.Before(p.consent.TransactionFrom) {
		from = p.consent.TransactionFrom
	}
	if !p.consent.TransactionTo.IsZero() && to.After(p.consent.TransactionTo) {
		to = p.consent.TransactionTo
	}
	// Query date-times have whole seconds; the window is what was sent.
	from, to = from.Truncate(time.Second), to.Truncate(time.Second)
	if !from.Before(to) {
		return nil
	}

	q := url.Values{
		"fromBookingDateTime": {from.In(obie.London).Format(queryTimeLayout)},
		"toBookingDateTime":   {to.In(obie.London).Format(queryTimeLayout)},
	}
	first := p.api("/accounts/"+url.PathEscape(id)+"/transactions") + "?" + q.Encode()
	complete, err := p.walk(ctx, ResourceTransactions, id, first, nil)
	if err != nil {
		return err
	}
	// With only one of ReadTransactionsCredits and ReadTransactionsDebits
	// the bank leaves the other direction out, so absence proves nothing.
	if !p.allowed("ReadTransactionsCredits") || !p.allowed("ReadTransactionsDebits") {
		complete = false
	}
	p.out.Windows = append(p.out.Windows, Window{AccountID: id, From: from.UTC(), To: to.UTC(), Complete: complete})
	return nil
}

// walk reads the pages of one resource from first, following Links.Next.
// It returns whether every page was read and accepted; a problem that stops
// only this resource is recorded and returns false with a nil error.
func (p *puller) walk(ctx context.Context, resource, accountID, first string, visit func(body []byte)) (bool, error) {
	complete := true
	seen := map[string]bool{}
	firstPath := pathOf(first)
	next := first
	for pages := 0; next != ""; pages++ {
		if pages >= p.c.maxPages() {
			p.problem("page limit of %d reached at %s", p.c.maxPages(), next)
			return false, nil
		}
		seen[next] = true

		// Step 1: fetch the page.
		resp, err := p.get(ctx, next)
		if err != nil {
			if fatal(err) {
				return false, err
			}
			p.lastErr = err
			p.problem("%v", err)
			return false, nil
		}
		env, err := readEnvelope(resp.body)
		if err != nil {
			p.problem("page at %s is not an OBIE JSON envelope", next)
			return false, nil
		}

		// Step 2: hand it over.
		p.out.Pages++
		if visit != nil {
			visit(resp.body)
		}
		page := Page{Resource: resource, AccountID: accountID, URL: next, Body: resp.body, Empty: env.Data.empty()}
		if err := p.sink(ctx, page); err != nil {
			if !errors.Is(err, ErrPageRejected) {
				return false, err
			}
			// The sink's error starts with the text of ErrPageRejected,
			// and the problem names the rejection already.
			reason := strings.TrimPrefix(err.Error(), ErrPageRejected.Error()+": ")
			p.problem("page at %s rejected: %s", next, reason)
			complete = false
		}

		// Step 3: check the next link before following it. OBIE requires
		// following Links.Next verbatim, but banks have sent one equal to
		// Self, one pointing at another account or resource, and relative
		// ones.
		link := env.Links.Next
		if link == "" {
			break
		}
		if link == env.Links.Self || seen[link] {
			p.problem("page loop at %s", link)
			return false, nil
		}
		if reason := p.checkNext(link, firstPath); reason != "" {
			p.problem("Links.Next %s rejected: %s", link, reason)
			return false, nil
		}
		if env.Links.Self != "" {
			seen[env.Links.Self] = true
		}
		next = link
	}
	return complete, nil
}

// checkNext returns why a Links.Next may not be followed, or "" when it
// may: it must be absolute, on the bank's scheme and host, and under the
// path of the resource's first page.
func (p *puller) checkNext(link, firstPath string) string {
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		return "not an absolute URL"
	}
	base, err := url.Parse(p.c.Bank.BaseURL)
	if err != nil {
		return "bank base URL is invalid"
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return "scheme or host differs from the bank's base URL"
	}
	if u.User != nil {
		return "carries user information"
	}
	if !strings.HasPrefix(u.Path, firstPath) {
		return "path is not under " + firstPath
	}
	return ""
}

// get reads one page with the customer's access token. A 401 triggers one
// refresh per pull; a second 401 is ErrTokenExpired.
func (p *puller) get(ctx context.Context, pageURL string) (*response, error) {
	path := pathOf(pageURL)
	if err := p.checkExpiry(); err != nil {
		return nil, err
	}
	if !p.tok.Expiry.IsZero() && !p.c.now().Before(p.tok.Expiry) && !p.refreshed {
		if err := p.refresh(ctx); err != nil {
			return nil, err
		}
	}

	for {
		resp, err := p.c.do(ctx, request{method: http.MethodGet, url: pageURL, bearer: p.tok.Access,
			fapi: true, consent: &p.consent, idempotent: true})
		if err != nil {
			return nil, err
		}
		switch {
		case resp.status == http.StatusOK:
			return resp, nil
		case resp.status == http.StatusUnauthorized && !p.refreshed:
			if err := p.refresh(ctx); err != nil {
				return nil, err
			}
			if err := p.checkExpiry(); err != nil {
				return nil, err
			}
			continue
		case resp.status == http.StatusUnauthorized:
			return nil, fmt.Errorf("%w: %w", ErrTokenExpired, newHTTPError(http.MethodGet, path, resp.status, resp.body))
		}
		return nil, newHTTPError(http.MethodGet, path, resp.status, resp.body)
	}
}

func (p *puller) refresh(ctx context.Context) error {
	p.refreshed = true
	tok, err := p.c.Refresh(ctx, p.tok.Refresh)
	if err != nil {
		if errors.Is(err, ErrTokenExpired) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrTokenExpired, err)
	}
	p.tok = tok
	p.out.Tokens = tok
	p.c.logger().Info("ASPSP access token refreshed", "bank", p.c.Bank.ID)
	return nil
}

func (p *puller) checkExpiry() error {
	if !p.consent.Expires.IsZero() && !p.c.now().Before(p.consent.Expires) {
		return ErrConsentExpired
	}
	return nil
}

// fatal reports errors after which no further read can succeed.
func fatal(err error) bool {
	var httpErr *HTTPError
	var tooLarge *PageTooLargeError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, ErrTokenExpired), errors.Is(err, ErrConsentExpired), errors.Is(err, ErrConsentInactive):
		return true
	case errors.As(err, &httpErr), errors.As(err, &tooLarge):
		return false
	}
	// A transport error that outlasted the retries: the bank is not
	// reachable.
	return true
}

func (p *puller) allowed(permissions ...string) bool {
	for _, perm := range permissions {
		if slices.Contains(p.consent.Permissions, perm) {
			return true
		}
	}
	return false
}

func (p *puller) api(path string) string { return p.c.endpoint(APIPath + path) }

func (p *puller) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.out.Problems = append(p.out.Problems, msg)
	p.c.logger().Warn("ASPSP pull problem", "bank", p.c.Bank.ID, "problem", msg)
}

// appendAccountIDs adds the AccountIds of an accounts page, skipping empty
// and repeated ones.
func appendAccountIDs(ids []string, body []byte) []string {
	var env struct {
		Data struct {
			Account []struct {
				AccountID string `json:"AccountId"`
			} `json:"Account"`
		} `json:"Data"`
	}
	if gojson.Unmarshal(body, &env) != nil {
		return ids
	}
	for _, a := range env.Data.Account {
		if a.AccountID != "" && !slices.Contains(ids, a.AccountID) {
			ids = append(ids, a.AccountID)
		}
	}
	return ids
}
