package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLimiter_tokenBucket(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l := newLimiter(2, 3, func() time.Time { return now })

	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst of 3 refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok {
		t.Fatal("fourth request of a burst of 3 allowed")
	}
	if wait != 500*time.Millisecond {
		t.Errorf("wait = %s, want 500ms at 2 per second", wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another key shares the bucket of a")
	}

	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Error("request refused after the bucket refilled one token")
	}
	if ok, _ := l.allow("a"); ok {
		t.Error("second request allowed with one token refilled")
	}

	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused after an hour idle; the bucket must refill to its burst only", i+1)
		}
	}
	if ok, _ := l.allow("a"); ok {
		t.Error("bucket refilled beyond its burst")
	}
}

func TestLimiter_dropsIdleBuckets(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l := newLimiter(1, 1, func() time.Time { return now })
	for i := range maxBuckets {
		l.allow(strconv.Itoa(i))
	}
	now = now.Add(2 * time.Second)
	l.allow("new")
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets kept, want only the new one after every other refilled", n)
	}
}

func TestRetryAfter_roundsUp(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want string
	}{{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Minute, "60"}} {
		if got := retryAfter(tt.wait); got != tt.want {
			t.Errorf("retryAfter(%s) = %s, want %s", tt.wait, got, tt.want)
		}
	}
}

func TestRateLimit_graphQLByClient(t *testing.T) {
	fake := newFakeConsent()
	rl := NewRateLimiter(RateLimits{ClientRate: 0.001, ClientBurst: 2, IPRate: 0.001, IPBurst: 1})
	srv := newTestServer(t, fake, Options{RateLimiter: rl})

	for i := range 2 {
		resp, raw := srv.post(t, "application/json", merchantKey, strings.NewReader(`{"query":"{ viewer { id } }"}`))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i+1, resp.StatusCode, raw)
		}
	}
	resp, raw := srv.post(t, "application/json", merchantKey, strings.NewReader(`{"query":"{ viewer { id } }"}`))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429: %s", resp.StatusCode, raw)
	}
	if got := resp.Header.Get("Retry-After"); got == "" {
		t.Error("429 without Retry-After")
	} else if n, err := strconv.Atoi(got); err != nil || n < 1 {
		t.Errorf("Retry-After = %q, want delay-seconds of at least 1", got)
	}
	var body gqlResponse
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Errors) != 1 || body.Errors[0].code() != codeRateLimited {
		t.Errorf("body = %s, want one error with code %s", raw, codeRateLimited)
	}

	// Another client has its own bucket, even from the same address.
	resp, raw = srv.post(t, "application/json", lenderKey, strings.NewReader(`{"query":"{ viewer { id } }"}`))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("other client: status %d, want 200: %s", resp.StatusCode, raw)
	}

	// Requests without valid credentials share the address's bucket.
	resp, _ = srv.post(t, "application/json", "", strings.NewReader(`{"query":"{ __typename }"}`))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("first anonymous request: status %d, want 200", resp.StatusCode)
	}
	resp, _ = srv.post(t, "application/json", "ik_test_unknown", strings.NewReader(`{"query":"{ __typename }"}`))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("anonymous request over the address limit: status %d, want 429", resp.StatusCode)
	}
}

func TestRateLimit_middlewareByIP(t *testing.T) {
	rl := NewRateLimiter(RateLimits{IPRate: 0.001, IPBurst: 1})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := rl.Middleware(ok)

	serve := func(method, path, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve(http.MethodGet, "/consent/r1", "192.0.2.1:1000"); rec.Code != http.StatusNoContent {
		t.Fatalf("first request: %d", rec.Code)
	}
	rec := serve(http.MethodGet, "/consent/r1", "192.0.2.1:1001")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second request from the same address: %d, Retry-After %q; want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve(http.MethodGet, "/consent/r1", "192.0.2.2:1000"); rec.Code != http.StatusNoContent {
		t.Errorf("another address: %d, want 204", rec.Code)
	}
	if rec := serve(http.MethodGet, "/healthz", "192.0.2.1:1000"); rec.Code != http.StatusNoContent {
		t.Errorf("health check limited: %d", rec.Code)
	}
	if rec := serve(http.MethodPost, "/graphql", "192.0.2.1:1000"); rec.Code != http.StatusNoContent {
		t.Errorf("POST /graphql limited by the middleware: %d; the GraphQL handler limits it", rec.Code)
	}
}

func TestLimitBodies_capsEveryHandler(t *testing.T) {
	var readErr error
	h := LimitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64)
		for readErr == nil {
			_, readErr = r.Body.Read(buf)
		}
	}), 100)
	req := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(strings.Repeat("x", 101)))
	h.ServeHTTP(httptest.NewRecorder(), req)
	var tooLarge *http.MaxBytesError
	if !errors.As(readErr, &tooLarge) {
		t.Errorf("read error = %v, want *http.MaxBytesError", readErr)
	}
}
