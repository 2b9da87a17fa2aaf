package feeds

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/robfig/cron/v3"
)

// PullResult reports one pull of a consent.
type PullResult struct {
	PullID     string
	ConsentID  string
	CustomerID string
	// Outcome is OutcomeComplete, OutcomeIncomplete or OutcomeFailed.
	Outcome      string
	Pages        int
	Transactions int // transaction records in accepted pages
	// PaymentOrders counts the direct debits, standing orders and
	// scheduled payments of complete reads.
	PaymentOrders int
	Problems      []string
	Windows       []ingest.Window
	// Ingest is the result of Commit, or the zero value when the pull failed.
	Ingest ingest.Result
}

// decodedResources are the resources ingest stores. Direct debits,
// standing orders and scheduled payments are stored apart from ingest, as
// snapshots (see orders.go).
var decodedResources = map[string]bool{
	aspsp.ResourceAccounts: true, aspsp.ResourceBalances: true, aspsp.ResourceTransactions: true,
	aspsp.ResourceParties: true, aspsp.ResourceParty: true,
}

// Refresh pulls an authorised consent's data into one ingest load: from an
// Overlap before the last booked transaction a complete pull stored (the
// consent's TransactionFromDateTime on the first pull) until now. It
// records the pull in pulls with its outcome.
//
// Tokens the bank issued during the pull are stored even when the pull
// fails. A consent past its expiry becomes needs_renewal without a call to
// the bank; one the bank reports expired or revoked becomes expired or
// revoked.
func (s *Service) Refresh(ctx context.Context, consentID string) (PullResult, error) {
	res := PullResult{ConsentID: consentID}
	if err := s.check(); err != nil {
		return res, err
	}
	unlock := s.lock(consentID)
	defer unlock()

	row, err := s.readConsent(ctx, consentID)
	if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	res.CustomerID = row.CustomerID
	if row.Status != StatusAuthorised {
		return res, fmt.Errorf("refresh consent %s: %w (status %s)", consentID, ErrNotAuthorised, row.Status)
	}
	started := s.now().UTC()
	if !row.ExpiresAt.IsZero() && !started.Before(row.ExpiresAt) {
		return res, errors.Join(fmt.Errorf("refresh consent %s: %w", consentID, ErrNeedsRenewal),
			s.setStatus(ctx, row, StatusNeedsRenewal))
	}
	client, err := s.client(row.BankID)
	if err != nil {
		return res, fmt.Errorf("refresh consent %s: %w", consentID, err)
	}
	tok, err := s.tokens(row)
	if err != nil {
		return res, fmt.Errorf("refresh consent %s: %w", consentID, err)
	}

	from := row.TransactionFrom
	if !row.LastBookingTime.IsZero() {
		from = row.LastBookingTime.Add(-s.overlap())
	}
	res.PullID = hex.EncodeToString(randomBytes(16))
	p := &pull{service: s, row: row, res: &res, source: "pull:" + res.PullID}
	s.logger().Info("pull started", "pull_id", res.PullID, "consent_id", consentID, "customer_id", row.CustomerID,
		"bank", row.BankID, "from", from, "to", started)

	pullErr := p.run(ctx, client, tok, from, started)
	if pullErr != nil {
		res.Outcome = OutcomeFailed
		res.Problems = append(res.Problems, pullErr.Error())
	}
	record := pullRow{PullID: res.PullID, ConsentID: consentID, CustomerID: row.CustomerID, StartedAt: started,
		FinishedAt: s.now().UTC(), Outcome: res.Outcome, Pages: res.Pages, Transactions: res.Transactions, Problems: res.Problems}
	err = errors.Join(pullErr, s.writePull(ctx, record), s.afterPull(ctx, client, row, p, pullErr))
	s.logger().Info("pull finished", "pull_id", res.PullID, "consent_id", consentID, "customer_id", row.CustomerID,
		"outcome", res.Outcome, "pages", res.Pages, "transactions", res.Transactions, "problems", len(res.Problems))
	if err != nil {
		return res, fmt.Errorf("refresh consent %s: %w", consentID, err)
	}
	if s.AfterPull != nil {
		s.AfterPull(ctx, row.CustomerID)
	}
	return res, nil
}

// afterPull stores what the pull changed about the consent: new tokens, the
// next starting point, and a status the bank's refusal implies.
func (s *Service) afterPull(ctx context.Context, client *aspsp.Client, row *consentRow, p *pull, pullErr error) error {
	changed := false
	if p.outcome.Refreshed() {
		if err := s.setTokens(row, p.outcome.Tokens); err != nil {
			return err
		}
		changed = true
	}
	if p.res.Outcome == OutcomeComplete && p.lastBooked.After(row.LastBookingTime) {
		row.LastBookingTime = p.lastBooked
		changed = true
	}
	if status := s.statusAfter(ctx, client, row, pullErr); status != "" {
		row.Status = status
		changed = true
		s.logger().Info("bank consent no longer usable", "consent_id", row.ConsentID, "customer_id", row.CustomerID, "status", status)
	}
	if !changed {
		return nil
	}
	return s.writeConsent(ctx, row)
}

// statusAfter returns the status a failed pull moves the consent to, or ""
// to keep it authorised.
func (s *Service) statusAfter(ctx context.Context, client *aspsp.Client, row *consentRow, pullErr error) string {
	switch {
	case pullErr == nil:
		return ""
	case errors.Is(pullErr, aspsp.ErrConsentExpired), errors.Is(pullErr, aspsp.ErrTokenExpired):
		return StatusNeedsRenewal
	case !errors.Is(pullErr, aspsp.ErrForbidden):
		return ""
	}

	// A 403: the consent's status at the bank distinguishes a revocation
	// from an expiry, and both from a permission the bank stopped granting.
	status, err := client.GetConsent(ctx, row.ASPSPConsentID)
	if err != nil {
		s.logger().Warn("read consent status after 403 failed", "consent_id", row.ConsentID, "error", err)
		if errors.Is(pullErr, aspsp.ErrConsentInactive) {
			return StatusExpired
		}
		return ""
	}
	switch {
	case status.Status == aspsp.StatusRevoked:
		return StatusRevoked
	case status.Status == aspsp.StatusRejected:
		return StatusRejected
	case status.Status == aspsp.StatusExpired, !status.Expires.IsZero() && !s.now().Before(status.Expires):
		return StatusExpired
	case errors.Is(pullErr, aspsp.ErrConsentInactive):
		return StatusExpired
	}
	return ""
}

func (s *Service) setStatus(ctx context.Context, row *consentRow, status string) error {
	row.Status = status
	s.logger().Info("bank consent status changed", "consent_id", row.ConsentID, "customer_id", row.CustomerID, "status", status)
	return s.writeConsent(ctx, row)
}

// pull is one Refresh in progress.
type pull struct {
	service    *Service
	row        *consentRow
	res        *PullResult
	source     string
	load       *ingest.Load
	outcome    aspsp.Outcome
	lastBooked time.Time // latest BookingDateTime of a booked transaction
	// quarantinedAccounts are the accounts of pages with a quarantined
	// record; "" stands for a page of no single account.
	quarantinedAccounts map[string]bool
	// orders are the payment orders of accepted pages; see orderPage.
	orders []orders.Order
}

// run pulls into one ingest load and commits it, or aborts it when the
// pull fails.
func (p *pull) run(ctx context.Context, client *aspsp.Client, tok aspsp.Tokens, from, to time.Time) error {
	s := p.service
	load, err := s.Loader.Begin(ctx, p.row.CustomerID, p.source)
	if err != nil {
		return err
	}
	p.load = load

	consent := aspsp.Consent{ID: p.row.ASPSPConsentID, Permissions: p.row.Permissions, Expires: p.row.ExpiresAt,
		TransactionFrom: p.row.TransactionFrom, AuthDate: p.row.AuthDate}
	p.outcome, err = client.Pull(ctx, tok, consent, from, to, p.sink)
	p.res.Pages = p.outcome.Pages
	p.res.Problems = append(p.res.Problems, p.outcome.Problems...)
	if err != nil {
		if abortErr := load.Abort(context.WithoutCancel(ctx)); abortErr != nil {
			s.logger().Error("abort pull load failed", "pull_id", p.res.PullID, "error", abortErr)
		}
		return err
	}

	// A quarantined record is missing from its page, so the account's
	// window cannot show that an entry absent from it is absent at the
	// bank: pending-entry reconciliation must not run on it.
	complete := len(p.outcome.Problems) == 0 && len(p.quarantinedAccounts) == 0
	for _, w := range p.outcome.Windows {
		windowComplete := w.Complete && !p.quarantinedAccounts[w.AccountID] && !p.quarantinedAccounts[""]
		p.res.Windows = append(p.res.Windows, ingest.Window{AccountID: w.AccountID, From: w.From, To: w.To, Complete: windowComplete})
		complete = complete && windowComplete
	}
	result, err := load.Commit(ctx, p.res.Windows)
	if err != nil {
		return err
	}
	p.res.Ingest = result
	if err := p.storeOrders(ctx); err != nil {
		return err
	}
	p.res.Outcome = OutcomeIncomplete
	if complete {
		p.res.Outcome = OutcomeComplete
	}
	if p.lastBooked.After(to) {
		p.lastBooked = to
	}
	return nil
}

// sink decodes and validates one page and adds it to the load. A page that
// fails validation is rejected as a whole: its records are not stored. The
// exception is a page whose only problems are records with a negative
// Amount beside Debit: those records are quarantined, never stored with a
// flipped sign, and the rest of the page is added.
func (p *pull) sink(ctx context.Context, page aspsp.Page) error {
	if orders.KindOfResource(page.Resource) != "" {
		return p.orderPage(page)
	}
	if !decodedResources[page.Resource] {
		return nil
	}
	if page.Empty {
		return nil // an empty Data object: nothing to store
	}

	dec := obie.Decoder{Local: obie.London, Now: p.service.Now}
	source := p.source + " " + urlPath(page.URL)
	payload, quarantined, err := dec.DecodeEnvelopeQuarantine(source, page.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", aspsp.ErrPageRejected, err)
	}
	if len(quarantined) > 0 {
		if err := p.quarantine(ctx, source, page, quarantined); err != nil {
			return err
		}
	}
	p.res.Transactions += len(payload.Transactions)
	for i := range payload.Transactions {
		p.noteBooking(&payload.Transactions[i])
	}
	return p.load.Add(ctx, payload)
}

// noteBooking keeps the latest BookingDateTime of a booked transaction.
// Pending entries are left out: their booking date is only expected.
func (p *pull) noteBooking(t *obie.Transaction) {
	status, ok := obie.TransactionStatus(t.Status)
	if !ok || status != insights.StatusBooked {
		return
	}
	booked, err := obie.ParseDateTime(t.BookingDateTime, obie.London)
	if err == nil && booked.After(p.lastBooked) {
		p.lastBooked = booked
	}
}

// RefreshAll pulls every authorised consent, at most Concurrency at once,
// each after a random delay of up to Jitter. A consent past its expiry is
// marked needs_renewal instead, without a call to its bank. Errors of
// single consents are logged and returned joined; the others go on.
func (s *Service) RefreshAll(ctx context.Context) error {
	return s.refreshAll(ctx, ctx)
}

// refreshAll pulls every authorised consent as RefreshAll does. The pulls
// run under ctx, and the waits before them (the random delay and a free
// slot) under start. Once start is done, no further pull starts, and the
// pulls already running go on under ctx.
func (s *Service) refreshAll(ctx, start context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if start.Err() != nil {
		return nil
	}
	rows, err := s.readConsents(ctx, "status = {status:String}", store.P("status", StatusAuthorised))
	if err != nil {
		return fmt.Errorf("refresh all: %w", err)
	}

	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		errs       []error
		sem        = make(chan struct{}, s.concurrency())
		notStarted atomic.Int64
	)
	now := s.now()
	for _, row := range rows {
		if !row.ExpiresAt.IsZero() && !now.Before(row.ExpiresAt) {
			unlock := s.lock(row.ConsentID)
			err := s.setStatus(ctx, row, StatusNeedsRenewal)
			unlock()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			continue
		}
		wg.Go(func() {
			if s.Jitter > 0 {
				if err := sleep(start, rand.N(s.Jitter)); err != nil {
					notStarted.Add(1)
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-start.Done():
				notStarted.Add(1)
				return
			}
			defer func() { <-sem }()

			if _, err := s.Refresh(ctx, row.ConsentID); err != nil {
				s.logger().Warn("scheduled pull failed", "consent_id", row.ConsentID, "customer_id", row.CustomerID, "error", err)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := notStarted.Load(); n > 0 {
		s.logger().Info("bank pulls not started: the refresh was stopped", "consents", n)
	}
	return errors.Join(append(errs, ctx.Err())...)
}

// Schedule registers RefreshAll with c under a cron spec such as
// "@every 6h" or "0 */6 * * *". A run that starts while the previous one
// is still going is skipped.
//
// stop ends the runs' waits: once it is done, as when the service shuts
// down, a run starts no further pull. Pulls already running are not
// cancelled, so that the shutdown, which waits for running jobs, ends
// with their loads committed.
func (s *Service) Schedule(stop context.Context, c *cron.Cron, spec string) error {
	_, err := c.AddFunc(spec, func() {
		if !s.running.CompareAndSwap(false, true) {
			s.logger().Warn("scheduled bank refresh skipped: the previous run is still going")
			return
		}
		defer s.running.Store(false)
		if err := s.refreshAll(context.WithoutCancel(stop), stop); err != nil {
			s.logger().Warn("scheduled bank refresh had failures", "error", err)
		}
	})
	if err != nil {
		return fmt.Errorf("schedule bank refresh %q: %w", spec, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// urlPath returns the path of a page URL for a decode source name.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Path
}
