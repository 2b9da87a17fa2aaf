package feeds

import (
	"context"
	"fmt"
	"strings"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
)

// quarantine stores each record that decoding set aside in the quarantine
// table, records the problem on the pull, and marks the page's account so
// that its transaction window counts as incomplete. The records' content
// stays out of logs and problems: only their JSON paths are named.
//
// NOTE: the rows are inserted at once, outside the ingest load, so they
// stay when the pull later fails and its load is aborted. Their source
// names the pull, and every later pull that reads the record adds a row.
func (p *pull) quarantine(ctx context.Context, source string, page aspsp.Page, records []obie.QuarantinedRecord) error {
	s := p.service
	at := s.now().UTC()
	paths := make([]string, len(records))
	for i := range records {
		q := &records[i]
		paths[i] = q.Path
		err := s.Engine.Exec(ctx, `INSERT INTO quarantine (customer_id, source, path, reason, record, quarantined_at)
VALUES ({customer_id:String}, {source:String}, {path:String}, {reason:String}, {record:String},
fromUnixTimestamp64Milli({quarantined_at:Int64}, 'UTC'))`,
			store.P("customer_id", p.row.CustomerID), store.P("source", source), store.P("path", q.Path),
			store.P("reason", q.Reason()), store.P("record", string(q.Record)), millisParam("quarantined_at", at))
		if err != nil {
			return fmt.Errorf("store quarantined record %s of %s: %w", q.Path, source, err)
		}
	}

	noun := "records"
	if len(records) == 1 {
		noun = "record"
	}
	p.res.Problems = append(p.res.Problems, fmt.Sprintf("quarantined %d %s with a negative Amount beside Debit at %s: %s",
		len(records), noun, source, strings.Join(paths, ", ")))
	if p.quarantinedAccounts == nil {
		p.quarantinedAccounts = map[string]bool{}
	}
	p.quarantinedAccounts[page.AccountID] = true
	s.logger().Warn("records quarantined", "pull_id", p.res.PullID, "customer_id", p.row.CustomerID,
		"source", source, "records", len(records))
	return nil
}
