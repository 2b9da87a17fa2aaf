// Package overrides stores each customer's category overrides (see
// categorize.Override) in table category_overrides, hands them to ingest,
// which applies them to the transactions it loads, and recategorises the
// transactions already stored after a change (Store.Recategorize).
package overrides

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
)

// ErrNotFound reports a Remove of an override the customer does not have.
var ErrNotFound = errors.New("override not found")

// idPattern is the form of an override ID. The ID becomes part of the rule
// "override:<id>" stored with each transaction it decides, so it is kept to
// characters that read well in a rule name.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// MaxCounterpartyLen is the maximum length in bytes of an override's
// counterparty as entered.
const MaxCounterpartyLen = 256

// Record is a stored override with its audit fields.
type Record struct {
	categorize.Override
	// Actor is who added or last replaced the override.
	Actor     string
	UpdatedAt time.Time
}

// Store reads and writes category overrides.
type Store struct {
	Engine store.Engine
	// Now returns the current time. nil means time.Now.
	Now func() time.Time
}

// Add stores o for the customer, replacing the override with the same ID
// when there is one; replaced reports that. It rejects an override that
// Overrides.Validate rejects, an ID outside [A-Za-z0-9_.-] (at most 64
// characters, starting with a letter or digit), and a second override for
// the same normalised counterparty and direction under another ID.
func (s *Store) Add(ctx context.Context, customerID string, o categorize.Override, actor string) (replaced bool, err error) {
	if customerID == "" {
		return false, errors.New("add override: customer ID is empty")
	}
	if !idPattern.MatchString(o.ID) {
		return false, fmt.Errorf("add override: invalid id %q: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", o.ID)
	}
	if len(o.Counterparty) > MaxCounterpartyLen {
		return false, fmt.Errorf("add override %q: invalid counterparty: %d bytes, maximum %d", o.ID, len(o.Counterparty), MaxCounterpartyLen)
	}
	if err := (categorize.Overrides{o}).Validate(); err != nil {
		return false, fmt.Errorf("add override %q: %w", o.ID, err)
	}

	current, err := s.versions(ctx, customerID)
	if err != nil {
		return false, fmt.Errorf("add override %q: %w", o.ID, err)
	}
	key := categorize.NormalizeCounterparty(o.Counterparty)
	for _, r := range current {
		if r.deleted || r.ID == o.ID {
			continue
		}
		if r.Direction == o.Direction && categorize.NormalizeCounterparty(r.Counterparty) == key {
			return false, fmt.Errorf("add override %q: override %q already sets the category of this counterparty and direction: remove it, or add with -id %s to replace it", o.ID, r.ID, r.ID)
		}
	}

	version, prev := s.nextVersion(current, o.ID)
	err = s.Engine.Exec(ctx, `INSERT INTO category_overrides
(customer_id, override_id, counterparty, direction, category, actor, updated_at, version, deleted)
VALUES ({customer:String}, {id:String}, {counterparty:String}, {direction:String}, {category:String},
{actor:String}, fromUnixTimestamp64Milli({updated_at:Int64}, 'UTC'), {version:UInt64}, 0)`,
		store.P("customer", customerID), store.P("id", o.ID), store.P("counterparty", o.Counterparty),
		store.P("direction", string(o.Direction)), store.P("category", string(o.Category)),
		store.P("actor", actor), store.P("updated_at", strconv.FormatInt(s.now().UnixMilli(), 10)),
		store.P("version", strconv.FormatUint(version, 10)))
	if err != nil {
		return false, fmt.Errorf("add override %q: store: %w", o.ID, err)
	}
	return prev != nil && !prev.deleted, nil
}

// Remove deletes the customer's override id. It returns an error wrapping
// ErrNotFound when the customer has no such override.
func (s *Store) Remove(ctx context.Context, customerID, id, actor string) error {
	if customerID == "" {
		return errors.New("remove override: customer ID is empty")
	}
	current, err := s.versions(ctx, customerID)
	if err != nil {
		return fmt.Errorf("remove override %q: %w", id, err)
	}
	version, prev := s.nextVersion(current, id)
	if prev == nil || prev.deleted {
		return fmt.Errorf("remove override %q of customer %q: %w", id, customerID, ErrNotFound)
	}
	// The deleted row keeps no counterparty: it is personal data that the
	// removal no longer needs.
	err = s.Engine.Exec(ctx, `INSERT INTO category_overrides
(customer_id, override_id, counterparty, direction, category, actor, updated_at, version, deleted)
VALUES ({customer:String}, {id:String}, '', '', '', {actor:String},
fromUnixTimestamp64Milli({updated_at:Int64}, 'UTC'), {version:UInt64}, 1)`,
		store.P("customer", customerID), store.P("id", id), store.P("actor", actor),
		store.P("updated_at", strconv.FormatInt(s.now().UnixMilli(), 10)),
		store.P("version", strconv.FormatUint(version, 10)))
	if err != nil {
		return fmt.Errorf("remove override %q: store: %w", id, err)
	}
	return nil
}

// List returns the customer's overrides ordered by ID, which is the order
// Load gives them to the categorizer.
func (s *Store) List(ctx context.Context, customerID string) ([]Record, error) {
	current, err := s.versions(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	var out []Record
	for _, r := range current {
		if !r.deleted {
			out = append(out, r.Record)
		}
	}
	return out, nil
}

// Load returns the customer's overrides, ready for
// categorize.Categorizer.WithOverrides.
func (s *Store) Load(ctx context.Context, customerID string) (categorize.Overrides, error) {
	records, err := s.List(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make(categorize.Overrides, len(records))
	for i, r := range records {
		out[i] = r.Override
	}
	return out, nil
}

// CategorizerFor returns a function for ingest.Loader.CategorizerFor: it
// returns base with the customer's overrides, or base itself when the
// customer has none.
func (s *Store) CategorizerFor(base *categorize.Categorizer) func(ctx context.Context, customerID string) (ingest.Categorizer, error) {
	return func(ctx context.Context, customerID string) (ingest.Categorizer, error) {
		o, err := s.Load(ctx, customerID)
		if err != nil {
			return nil, fmt.Errorf("category overrides of customer %q: %w", customerID, err)
		}
		if len(o) == 0 {
			return base, nil
		}
		return base.WithOverrides(o), nil
	}
}

// Recategorize stores a new category for each of the customer's current
// transactions that an override decides now, or that an override decided
// before and no longer does (after a Remove, or a replace with another
// counterparty or category). Other transactions keep their stored category,
// even where base's built-in rules would now decide otherwise. It returns
// the number of transactions changed; see ingest.Loader.Recategorize for
// how their new versions are stored.
func (s *Store) Recategorize(ctx context.Context, customerID string, base *categorize.Categorizer, logger *slog.Logger) (int, error) {
	loader := &ingest.Loader{Engine: s.Engine, CategorizerFor: s.CategorizerFor(base), Logger: logger, Now: s.Now}
	source := "overrides:" + s.now().UTC().Format(time.RFC3339Nano)
	byOverride := func(before, after string) bool {
		return strings.HasPrefix(before, RulePrefix) || strings.HasPrefix(after, RulePrefix)
	}
	res, err := loader.Recategorize(ctx, customerID, source, byOverride)
	if err != nil {
		return 0, fmt.Errorf("recategorize transactions of customer %q: %w", customerID, err)
	}
	return res.Transactions, nil
}

// RulePrefix starts the category_rule of every decision an override made.
const RulePrefix = "override:"

// version is the latest stored row of one override ID.
type version struct {
	Record
	version uint64
	deleted bool
}

// versions returns the latest row of every override ID of the customer,
// removed ones included, ordered by ID.
func (s *Store) versions(ctx context.Context, customerID string) ([]version, error) {
	rows, err := s.Engine.Query(ctx, `SELECT override_id,
  argMax(counterparty, version), toString(argMax(direction, version)), toString(argMax(category, version)),
  argMax(actor, version), toUnixTimestamp64Milli(argMax(updated_at, version)),
  max(version), toBool(argMax(deleted, version) = 1)
FROM category_overrides
WHERE customer_id = {customer:String}
GROUP BY override_id
ORDER BY override_id`, store.P("customer", customerID))
	if err != nil {
		return nil, fmt.Errorf("read category_overrides: %w", err)
	}
	defer rows.Close()

	var out []version
	for rows.Next() {
		var v version
		var direction, category string
		var updatedAt int64
		if err := rows.Scan(&v.ID, &v.Counterparty, &direction, &category, &v.Actor, &updatedAt, &v.version, &v.deleted); err != nil {
			return nil, fmt.Errorf("read category_overrides: %w", err)
		}
		v.Direction = categorize.Direction(direction)
		v.Category = insights.Category(category)
		v.UpdatedAt = time.UnixMilli(updatedAt).UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read category_overrides: %w", err)
	}
	return out, nil
}

// nextVersion returns the version for a new row of override id: the current
// time in nanoseconds, or one more than the stored version when that is
// higher, so a later write always wins even when clocks step back. prev is
// the stored row of id, or nil.
func (s *Store) nextVersion(current []version, id string) (next uint64, prev *version) {
	next = uint64(s.now().UnixNano())
	for i := range current {
		if current[i].ID == id {
			prev = &current[i]
			if prev.version >= next {
				next = prev.version + 1
			}
		}
	}
	return next, prev
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StoredTransactions returns the number of stored transaction rows of the
// customer, versions included.
func (s *Store) StoredTransactions(ctx context.Context, customerID string) (uint64, error) {
	rows, err := s.Engine.Query(ctx, `SELECT count() FROM transactions WHERE customer_id = {customer:String}`,
		store.P("customer", customerID))
	if err != nil {
		return 0, fmt.Errorf("count stored transactions of customer %q: %w", customerID, err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("count stored transactions of customer %q: %w", customerID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("count stored transactions of customer %q: %w", customerID, err)
	}
	return n, nil
}
