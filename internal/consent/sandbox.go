package consent

import (
	"context"
	"fmt"
	"strings"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// MarkDemoCustomers records that the customers' data is demo data, such as
// the customers of `insights sample` that the demo bank serves. Only demo
// customers may open the requests of sandbox clients. Marking a customer
// twice is harmless.
func (s *Service) MarkDemoCustomers(ctx context.Context, customerIDs ...string) error {
	for i, id := range customerIDs {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > 128 {
			return insights.Errorf(insights.ErrInvalid, "customer ID %d: %q must be 1 to 128 characters", i+1, id)
		}
		err := s.Engine.Exec(ctx, `INSERT INTO demo_customers (customer_id, marked_at)
VALUES ({id:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`, store.P("id", id), store.P("at", millis(s.now())))
		if err != nil {
			return fmt.Errorf("mark customer %s as demo: %w", id, err)
		}
	}
	return nil
}

// IsDemoCustomer reports whether MarkDemoCustomers marked the customer.
func (s *Service) IsDemoCustomer(ctx context.Context, customerID string) (bool, error) {
	rows, err := s.Engine.Query(ctx, "SELECT count() FROM demo_customers FINAL WHERE customer_id = {id:String}", store.P("id", customerID))
	if err != nil {
		return false, fmt.Errorf("read demo customers: %w", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, fmt.Errorf("read demo customers: %w", err)
		}
	}
	return n > 0, rows.Err()
}

// CheckCustomerEnvironment returns a not_found error when client clientID
// is a sandbox client and customerID is not a demo customer, so sandbox
// requests never reach real customers' data. Live clients may reach any
// customer.
func (s *Service) CheckCustomerEnvironment(ctx context.Context, clientID, customerID, requestID string) error {
	env, err := s.ClientEnvironment(ctx, clientID)
	if err != nil || env != EnvSandbox {
		return err
	}
	demo, err := s.IsDemoCustomer(ctx, customerID)
	if err != nil {
		return err
	}
	if !demo {
		s.logger().Info("sandbox request opened by a customer who is not a demo customer", "request_id", requestID, "client_id", clientID)
		return insights.Errorf(insights.ErrNotFound, "attestation request %s not found", requestID)
	}
	return nil
}

// ClientEnvironment returns EnvSandbox or EnvLive for a registered client.
func (s *Service) ClientEnvironment(ctx context.Context, clientID string) (string, error) {
	facts, err := s.clientFacts(ctx, clientID)
	if err != nil {
		return "", err
	}
	return facts.env, nil
}

// tokenEnvironment returns the "env" claim of a token for the client:
// "sandbox" for a sandbox client and "" (no claim) for a live one.
func (s *Service) tokenEnvironment(ctx context.Context, clientID string) (string, error) {
	env, err := s.ClientEnvironment(ctx, clientID)
	if err != nil || env != EnvSandbox {
		return "", err
	}
	return EnvSandbox, nil
}
