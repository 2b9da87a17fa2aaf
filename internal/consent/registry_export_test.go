package consent

import "time"

// SetRemoteJWKSMinRefetch sets how often an unknown kid may make a JWK set
// be fetched again, and returns a function that restores the old value.
func SetRemoteJWKSMinRefetch(d time.Duration) (restore func()) {
	old := remoteJWKSMinRefetch
	remoteJWKSMinRefetch = d
	return func() { remoteJWKSMinRefetch = old }
}
