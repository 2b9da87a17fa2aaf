package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

// TestStorageUnavailable_503 checks that a storage engine that cannot be
// reached gives 503 with Retry-After and the code UNAVAILABLE, logs the
// cause with the request ID, and sends the client no detail of the cause.
func TestStorageUnavailable_503(t *testing.T) {
	fake := newFakeConsent()
	fake.lookupErr = fmt.Errorf("read request: %w: query ClickHouse at 10.0.0.7:9000: connection reset", store.ErrUnavailable)
	srv := newTestServer(t, fake, Options{})

	body := `{"query":"{ attestationRequest(id: \"req_1\") { id } }"}`
	resp, raw := srv.post(t, "application/json", merchantKey, strings.NewReader(body))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503: %s", resp.StatusCode, raw)
	}
	if got := resp.Header.Get("Retry-After"); got != unavailableRetryAfter {
		t.Errorf("Retry-After = %q, want %q", got, unavailableRetryAfter)
	}
	if !strings.Contains(string(raw), `"code":"UNAVAILABLE"`) || !strings.Contains(string(raw), storageUnavailableMessage) {
		t.Errorf("body = %s, want UNAVAILABLE with %q", raw, storageUnavailableMessage)
	}
	if strings.Contains(string(raw), "10.0.0.7") {
		t.Errorf("body leaks the cause: %s", raw)
	}
	logs := srv.log.String()
	if !strings.Contains(logs, "connection reset") || !strings.Contains(logs, `"request_id"`) {
		t.Errorf("log lacks the cause or the request ID:\n%s", logs)
	}

	// Once storage answers again, the same server serves the request.
	fake.mu.Lock()
	fake.lookupErr = nil
	fake.mu.Unlock()
	resp, raw = srv.post(t, "application/json", merchantKey, strings.NewReader(body))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after recovery: status = %d, want 200: %s", resp.StatusCode, raw)
	}
}
