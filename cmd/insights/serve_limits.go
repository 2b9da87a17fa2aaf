package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights/internal/api"
)

// serverConfig holds the HTTP server's timeouts, size and rate limits and
// the GraphQL limits of `insights serve`.
type serverConfig struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests and running
	// scheduled jobs after SIGTERM or SIGINT.
	ShutdownTimeout time.Duration
	MaxHeaderBytes  int
	// GraphQL holds the GraphQL limits. Its MaxBodyBytes caps the body of
	// every request, and zero fields take api.DefaultLimits.
	GraphQL api.Limits
	// Rate holds the rate limits. Zero rates turn them off, as in tests
	// that build a Main without flags.
	Rate api.RateLimits
}

// Defaults of serverConfig, for flags and for a zero field.
const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 30 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
	defaultShutdownTimeout   = 30 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
)

func (c *serverConfig) register(fs *flag.FlagSet) {
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", defaultReadHeaderTimeout, "time allowed to read a request's headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", defaultReadTimeout, "time allowed to read a whole request, body included")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", defaultWriteTimeout,
		"time allowed from the end of the request headers to the end of the response; must exceed -graphql-timeout")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", defaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", defaultShutdownTimeout,
		"on SIGTERM or SIGINT, how long to wait for in-flight requests and running scheduled jobs before exiting")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", defaultMaxHeaderBytes, "maximum size in bytes of a request's headers")
	fs.Int64Var(&c.GraphQL.MaxBodyBytes, "max-body-bytes", api.DefaultLimits.MaxBodyBytes,
		"maximum size in bytes of any request body, GraphQL or form")
	fs.IntVar(&c.GraphQL.MaxVariablesBytes, "graphql-max-variables-bytes", api.DefaultLimits.MaxVariablesBytes,
		"maximum size in bytes of the JSON variables of a GraphQL request")
	fs.IntVar(&c.GraphQL.MaxDepth, "graphql-max-depth", api.DefaultLimits.MaxDepth,
		"maximum field nesting of a GraphQL operation, fragments included")
	fs.IntVar(&c.GraphQL.MaxCost, "graphql-max-cost", api.DefaultLimits.MaxCost,
		"maximum cost of a GraphQL operation: 1 per field, list fields multiply their selection by 10 (docs/operations.md)")
	fs.DurationVar(&c.GraphQL.Timeout, "graphql-timeout", api.DefaultLimits.Timeout, "maximum execution time of a GraphQL operation")
	c.GraphQL.DisableIntrospection = envOr("INSIGHTS_GRAPHQL_INTROSPECTION", "true") == "false"
	fs.Var(invertedBool{&c.GraphQL.DisableIntrospection}, "graphql-introspection",
		"answer GraphQL introspection queries, which the explorer page needs; -graphql-introspection=false turns them off (env INSIGHTS_GRAPHQL_INTROSPECTION=false)")
	fs.Float64Var(&c.Rate.ClientRate, "rate-limit-client", 100,
		"GraphQL requests per second one authenticated client may sustain; 0 turns the limit off")
	fs.IntVar(&c.Rate.ClientBurst, "rate-limit-client-burst", 200, "GraphQL requests one client may send at once after a quiet period")
	fs.Float64Var(&c.Rate.IPRate, "rate-limit-ip", 20,
		"requests per second one IP address may sustain without valid client credentials (consent pages, callbacks, JWK set); 0 turns the limit off")
	fs.IntVar(&c.Rate.IPBurst, "rate-limit-ip-burst", 60, "requests one IP address may send at once after a quiet period")
}

// invertedBool is a boolean flag that stores its negation.
type invertedBool struct{ target *bool }

func (b invertedBool) IsBoolFlag() bool { return true }

// String returns the flag's value. The flag package calls it on a zero
// invertedBool to tell whether the default is worth printing, so that one
// reads as false.
func (b invertedBool) String() string {
	if b.target == nil {
		return "false"
	}
	return strconv.FormatBool(!*b.target)
}

func (b invertedBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.target = !v
	return nil
}

// setDefaults gives every zero timeout and size its default, so that a
// Main built without flags serves with the same limits as the command.
func (c *serverConfig) setDefaults() {
	for _, d := range []struct {
		field *time.Duration
		def   time.Duration
	}{
		{&c.ReadHeaderTimeout, defaultReadHeaderTimeout}, {&c.ReadTimeout, defaultReadTimeout},
		{&c.WriteTimeout, defaultWriteTimeout}, {&c.IdleTimeout, defaultIdleTimeout},
		{&c.ShutdownTimeout, defaultShutdownTimeout}, {&c.GraphQL.Timeout, api.DefaultLimits.Timeout},
	} {
		if *d.field == 0 {
			*d.field = d.def
		}
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if c.GraphQL.MaxBodyBytes == 0 {
		c.GraphQL.MaxBodyBytes = api.DefaultLimits.MaxBodyBytes
	}
	if c.GraphQL.MaxVariablesBytes == 0 {
		c.GraphQL.MaxVariablesBytes = api.DefaultLimits.MaxVariablesBytes
	}
	if c.GraphQL.MaxDepth == 0 {
		c.GraphQL.MaxDepth = api.DefaultLimits.MaxDepth
	}
	if c.GraphQL.MaxCost == 0 {
		c.GraphQL.MaxCost = api.DefaultLimits.MaxCost
	}
}

func (c *serverConfig) validate() error {
	c.setDefaults()
	for name, d := range map[string]time.Duration{
		"-read-header-timeout": c.ReadHeaderTimeout, "-read-timeout": c.ReadTimeout, "-write-timeout": c.WriteTimeout,
		"-idle-timeout": c.IdleTimeout, "-shutdown-timeout": c.ShutdownTimeout, "-graphql-timeout": c.GraphQL.Timeout,
	} {
		if d <= 0 {
			return fmt.Errorf("%s %s: must be positive", name, d)
		}
	}
	if c.WriteTimeout <= c.GraphQL.Timeout {
		return fmt.Errorf("-write-timeout %s must exceed -graphql-timeout %s, or a slow operation loses its response", c.WriteTimeout, c.GraphQL.Timeout)
	}
	for name, n := range map[string]int64{
		"-max-header-bytes": int64(c.MaxHeaderBytes), "-max-body-bytes": c.GraphQL.MaxBodyBytes,
		"-graphql-max-variables-bytes": int64(c.GraphQL.MaxVariablesBytes), "-graphql-max-depth": int64(c.GraphQL.MaxDepth),
		"-graphql-max-cost": int64(c.GraphQL.MaxCost),
	} {
		if n <= 0 {
			return fmt.Errorf("%s %d: must be positive", name, n)
		}
	}
	if c.Rate.ClientRate < 0 || c.Rate.IPRate < 0 {
		return errors.New("-rate-limit-client and -rate-limit-ip must not be negative")
	}
	if (c.Rate.ClientRate > 0 && c.Rate.ClientBurst < 1) || (c.Rate.IPRate > 0 && c.Rate.IPBurst < 1) {
		return errors.New("-rate-limit-client-burst and -rate-limit-ip-burst must be at least 1 when their rate is set")
	}
	return nil
}

// wrap applies the body limit to every request and the per-IP rate limit
// to every endpoint but POST /graphql, which the API handler limits by
// client.
func (c *serverConfig) wrap(h http.Handler, limiter *api.RateLimiter) http.Handler {
	return limiter.Middleware(api.LimitBodies(h, c.GraphQL.MaxBodyBytes))
}

// httpServer returns the server with the configured timeouts.
func (c *serverConfig) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
}
