package api

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimits configures per-client and per-IP request rates. A rate of zero
// turns that limit off.
type RateLimits struct {
	// ClientRate is the sustained number of GraphQL requests per second
	// that one authenticated client may send, and ClientBurst the number
	// it may send at once after a quiet period.
	ClientRate  float64
	ClientBurst int
	// IPRate and IPBurst limit requests that carry no valid client
	// credentials, per remote IP address: the consent pages, bank
	// callbacks, the JWK set and status lists, and GraphQL requests whose
	// credentials are missing or invalid.
	IPRate  float64
	IPBurst int
}

// tokenBucket is one key's bucket: tokens refill at rate per second up to
// burst, and each request takes one.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// limiter is a set of token buckets keyed by client or address.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

// maxBuckets bounds the buckets kept before idle ones are dropped. A bucket
// that has refilled to burst holds no state worth keeping.
const maxBuckets = 10000

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(rate)))
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*tokenBucket{}}
}

// allow takes a token from key's bucket. When the bucket is empty it
// returns false and how long until a token is available.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()

	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.dropFull(now)
		}
		b = &tokenBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// dropFull removes the buckets that have refilled to burst by now, which
// behave exactly like new ones.
func (l *limiter) dropFull(now time.Time) {
	for key, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, key)
		}
	}
}

// retryAfter formats a wait as the delay-seconds of a Retry-After header
// (RFC 9110 section 10.2.3), rounded up so a client that obeys it finds a
// token.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// clientIP returns the host of the request's remote address. Forwarding
// headers are not read: behind a proxy every request then shares the
// proxy's address, so the per-IP limit must be sized for that or turned
// off in favour of the proxy's own limits.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RateLimiter enforces RateLimits. The GraphQL handler consults it after
// authentication, and Middleware applies the per-IP limit to everything
// else.
type RateLimiter struct {
	clients *limiter
	ips     *limiter
}

// NewRateLimiter returns a RateLimiter for limits, or nil when both rates
// are zero.
func NewRateLimiter(limits RateLimits) *RateLimiter {
	rl := &RateLimiter{
		clients: newLimiter(limits.ClientRate, limits.ClientBurst, nil),
		ips:     newLimiter(limits.IPRate, limits.IPBurst, nil),
	}
	if rl.clients == nil && rl.ips == nil {
		return nil
	}
	return rl
}

// allowClient applies the client limit to an authenticated client.
func (rl *RateLimiter) allowClient(clientID string) (bool, time.Duration) {
	if rl == nil {
		return true, 0
	}
	return rl.clients.allow("client:" + clientID)
}

// allowIP applies the per-IP limit to a request without valid credentials.
func (rl *RateLimiter) allowIP(r *http.Request) (bool, time.Duration) {
	if rl == nil {
		return true, 0
	}
	return rl.ips.allow("ip:" + clientIP(r))
}

// Middleware applies the per-IP limit to every request except POST
// /graphql, which the GraphQL handler limits by client, and GET /healthz,
// which load balancers poll. A request over the limit gets 429 with
// Retry-After.
func (rl *RateLimiter) Middleware(next http.Handler) http.Handler {
	if rl == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPost && r.URL.Path == "/graphql") || r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if ok, wait := rl.allowIP(r); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			http.Error(w, "too many requests from this address; retry after the number of seconds in Retry-After", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitGraphQL applies the client limit when the request's credentials
// authenticate a client, and the per-IP limit otherwise. It writes 429 and
// returns false when the request is over its limit.
func (h *graphqlHandler) limitGraphQL(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	if h.rateLimiter == nil {
		return true
	}
	var ok bool
	var wait time.Duration
	if r.Header.Get("Authorization") != "" {
		if client, err := authenticatedClient(ctx); err == nil {
			ok, wait = h.rateLimiter.allowClient(client.ID)
			if !ok {
				loggerFrom(ctx).InfoContext(ctx, "client over its rate limit", "client_id", client.ID)
			}
		} else {
			ok, wait = h.rateLimiter.allowIP(r)
		}
	} else {
		ok, wait = h.rateLimiter.allowIP(r)
	}
	if ok {
		return true
	}
	w.Header().Set("Retry-After", retryAfter(wait))
	writeRequestErrorCode(ctx, w, http.StatusTooManyRequests, codeRateLimited,
		"too many requests: retry after the number of seconds in the Retry-After header")
	return false
}

// LimitBodies caps the body of every request at maxBytes, so that a
// handler that reads its body whole cannot be made to buffer more. Handlers
// with a tighter limit of their own keep it.
func LimitBodies(next http.Handler, maxBytes int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
		}
		next.ServeHTTP(w, r)
	})
}
