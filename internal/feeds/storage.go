package feeds

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// consentRow is one version of a bank_consents row. Zero times are stored
// as the Unix epoch.
type consentRow struct {
	ConsentID       string
	CustomerID      string
	BankID          string
	ASPSPConsentID  string
	Permissions     []string
	Status          string
	StateHash       string
	ExpiresAt       time.Time
	TransactionFrom time.Time
	LastBookingTime time.Time
	// AccessToken and RefreshToken are ciphertexts from sealToken.
	AccessToken  string
	RefreshToken string
	TokenExpiry  time.Time
	AuthDate     time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const consentColumns = `consent_id, customer_id, bank_id, aspsp_consent_id, permissions, status, state_hash,
toUnixTimestamp64Milli(expires_at), toUnixTimestamp64Milli(transaction_from),
toUnixTimestamp64Milli(last_booking_time), access_token_ciphertext, refresh_token_ciphertext,
toUnixTimestamp64Milli(token_expiry), toUnixTimestamp64Milli(auth_date),
toUnixTimestamp64Milli(created_at), toUnixTimestamp64Milli(updated_at)`

// writeConsent stores a new version of row. Its updated_at is later than
// the version it replaces, even within one millisecond, because
// ReplacingMergeTree keeps the row with the greatest updated_at.
func (s *Service) writeConsent(ctx context.Context, row *consentRow) error {
	updated := s.now().UTC().Truncate(time.Millisecond)
	if !updated.After(row.UpdatedAt) {
		updated = row.UpdatedAt.Add(time.Millisecond)
	}
	row.UpdatedAt = updated
	if row.CreatedAt.IsZero() {
		row.CreatedAt = updated
	}

	err := s.Engine.Exec(ctx, `INSERT INTO bank_consents (consent_id, customer_id, bank_id, aspsp_consent_id,
permissions, status, state_hash, expires_at, transaction_from, last_booking_time, access_token_ciphertext,
refresh_token_ciphertext, token_expiry, auth_date, created_at, updated_at)
VALUES ({consent_id:String}, {customer_id:String}, {bank_id:String}, {aspsp_consent_id:String},
{permissions:Array(String)}, {status:String}, {state_hash:String},
fromUnixTimestamp64Milli({expires_at:Int64}, 'UTC'), fromUnixTimestamp64Milli({transaction_from:Int64}, 'UTC'),
fromUnixTimestamp64Milli({last_booking_time:Int64}, 'UTC'), {access:String}, {refresh:String},
fromUnixTimestamp64Milli({token_expiry:Int64}, 'UTC'), fromUnixTimestamp64Milli({auth_date:Int64}, 'UTC'),
fromUnixTimestamp64Milli({created_at:Int64}, 'UTC'), fromUnixTimestamp64Milli({updated_at:Int64}, 'UTC'))`,
		store.P("consent_id", row.ConsentID), store.P("customer_id", row.CustomerID),
		store.P("bank_id", row.BankID), store.P("aspsp_consent_id", row.ASPSPConsentID),
		store.P("permissions", arrayParam(row.Permissions)), store.P("status", row.Status),
		store.P("state_hash", row.StateHash),
		millisParam("expires_at", row.ExpiresAt), millisParam("transaction_from", row.TransactionFrom),
		millisParam("last_booking_time", row.LastBookingTime),
		store.P("access", row.AccessToken), store.P("refresh", row.RefreshToken),
		millisParam("token_expiry", row.TokenExpiry), millisParam("auth_date", row.AuthDate),
		millisParam("created_at", row.CreatedAt), millisParam("updated_at", row.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store bank consent %s: %w", row.ConsentID, err)
	}
	return nil
}

// readConsents returns the current version of the consents matching where,
// a condition on bank_consents columns with query parameters.
func (s *Service) readConsents(ctx context.Context, where string, params ...store.Param) ([]*consentRow, error) {
	rows, err := s.Engine.Query(ctx, "SELECT "+consentColumns+" FROM bank_consents FINAL WHERE "+where+
		" ORDER BY customer_id, consent_id", params...)
	if err != nil {
		return nil, fmt.Errorf("read bank consents: %w", err)
	}
	defer rows.Close()

	var out []*consentRow
	for rows.Next() {
		r := &consentRow{}
		var expires, txFrom, lastBooking, tokenExpiry, authDate, created, updated int64
		err := rows.Scan(&r.ConsentID, &r.CustomerID, &r.BankID, &r.ASPSPConsentID, &r.Permissions, &r.Status,
			&r.StateHash, &expires, &txFrom, &lastBooking, &r.AccessToken, &r.RefreshToken, &tokenExpiry,
			&authDate, &created, &updated)
		if err != nil {
			return nil, fmt.Errorf("read bank consents: %w", err)
		}
		r.ExpiresAt, r.TransactionFrom, r.LastBookingTime = fromMillis(expires), fromMillis(txFrom), fromMillis(lastBooking)
		r.TokenExpiry, r.AuthDate = fromMillis(tokenExpiry), fromMillis(authDate)
		r.CreatedAt, r.UpdatedAt = fromMillis(created), fromMillis(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read bank consents: %w", err)
	}
	return out, nil
}

func (s *Service) readConsent(ctx context.Context, consentID string) (*consentRow, error) {
	rows, err := s.readConsents(ctx, "consent_id = {consent_id:String}", store.P("consent_id", consentID))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrConsentNotFound, consentID)
	}
	return rows[0], nil
}

// pullRow is one row of pulls.
type pullRow struct {
	PullID, ConsentID, CustomerID string
	StartedAt, FinishedAt         time.Time
	Outcome                       string
	Pages, Transactions           int
	Problems                      []string
}

// Limits on the problems stored with a pull: the first ones show the
// pattern, and a page rejected for every record would otherwise store
// hundreds of messages.
const (
	maxStoredProblems = 50
	maxProblemLength  = 2000
)

func (s *Service) writePull(ctx context.Context, p pullRow) error {
	problems := p.Problems
	if len(problems) > maxStoredProblems {
		problems = append(problems[:maxStoredProblems:maxStoredProblems], fmt.Sprintf("%d more problems", len(p.Problems)-maxStoredProblems))
	}
	for i, msg := range problems {
		if len(msg) > maxProblemLength {
			problems[i] = msg[:maxProblemLength] + "..."
		}
	}

	err := s.Engine.Exec(ctx, `INSERT INTO pulls (pull_id, consent_id, customer_id, started_at, finished_at, outcome,
pages, transactions, problems)
VALUES ({pull_id:String}, {consent_id:String}, {customer_id:String}, fromUnixTimestamp64Milli({started_at:Int64}, 'UTC'),
fromUnixTimestamp64Milli({finished_at:Int64}, 'UTC'), {outcome:String}, {pages:UInt32}, {transactions:UInt64},
{problems:Array(String)})`,
		store.P("pull_id", p.PullID), store.P("consent_id", p.ConsentID), store.P("customer_id", p.CustomerID),
		millisParam("started_at", p.StartedAt), millisParam("finished_at", p.FinishedAt),
		store.P("outcome", p.Outcome), store.P("pages", strconv.Itoa(p.Pages)),
		store.P("transactions", strconv.Itoa(p.Transactions)), store.P("problems", arrayParam(problems)))
	if err != nil {
		return fmt.Errorf("record pull %s: %w", p.PullID, err)
	}
	return nil
}

// arrayParam formats a ClickHouse Array(String) literal for a query
// parameter: single-quoted elements with backslash and quote escaped.
func arrayParam(values []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		for _, r := range v {
			switch r {
			case '\\', '\'':
				b.WriteByte('\\')
				b.WriteRune(r)
			case '\n':
				b.WriteString(`\n`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}

func millisParam(name string, t time.Time) store.Param {
	if t.IsZero() {
		return store.P(name, "0")
	}
	return store.P(name, strconv.FormatInt(t.UnixMilli(), 10))
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
