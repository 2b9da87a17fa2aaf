package consentui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	sessionCookie = "consent_session"
	cookiePath    = "/consent"
	sessionIDLen  = 16 // random bytes naming one sign-in, to which CSRF tokens are bound
	csrfField     = "csrf_token"
)

var b64 = base64.RawURLEncoding

// session is a signed-in customer. ID is random per sign-in, so a CSRF token
// taken from one session is worthless in the next.
type session struct {
	ID         string
	CustomerID string
	Expires    time.Time
}

// sessionCodec signs and checks session cookies and CSRF tokens. The two use
// separate keys derived from Options.SessionKey, so a value signed for one
// purpose never verifies for the other.
type sessionCodec struct {
	cookieKey []byte
	csrfKey   []byte
	ttl       time.Duration
	// alwaysSecure marks cookies Secure also on requests without TLS, for
	// a service behind a proxy that terminates TLS.
	alwaysSecure bool
}

// secure reports whether cookies set in response to r must be Secure.
func (c sessionCodec) secure(r *http.Request) bool {
	return c.alwaysSecure || r.TLS != nil
}

func newSessionCodec(key []byte, ttl time.Duration) sessionCodec {
	return sessionCodec{
		cookieKey: deriveKey(key, "consentui session cookie v1"),
		csrfKey:   deriveKey(key, "consentui csrf token v1"),
		ttl:       ttl,
	}
}

func deriveKey(key []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

func sign(key []byte, payload string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(payload))
	return mac.Sum(nil)
}

// newSession starts a session for customerID that ends ttl after now.
func (c sessionCodec) newSession(customerID string, now time.Time) (session, error) {
	id := make([]byte, sessionIDLen)
	if _, err := rand.Read(id); err != nil {
		return session{}, err
	}
	return session{ID: b64.EncodeToString(id), CustomerID: customerID, Expires: now.Add(c.ttl).Truncate(time.Second)}, nil
}

// encode returns the cookie value "v1.<session id>.<customer id>.<expiry>.<mac>":
// the customer ID base64url-encoded, the expiry in Unix seconds and the MAC an
// HMAC-SHA256 over everything before it.
func (c sessionCodec) encode(s session) string {
	payload := "v1." + s.ID + "." + b64.EncodeToString([]byte(s.CustomerID)) + "." + strconv.FormatInt(s.Expires.Unix(), 10)
	return payload + "." + b64.EncodeToString(sign(c.cookieKey, payload))
}

var errBadSession = errors.New("invalid or expired session cookie")

// decode checks the MAC and expiry of a cookie value made by encode.
func (c sessionCodec) decode(value string, now time.Time) (session, error) {
	payload, macText, ok := cutLast(value, ".")
	if !ok {
		return session{}, errBadSession
	}
	mac, err := b64.DecodeString(macText)
	if err != nil || !hmac.Equal(mac, sign(c.cookieKey, payload)) {
		return session{}, errBadSession
	}

	parts := strings.Split(payload, ".")
	if len(parts) != 4 || parts[0] != "v1" || parts[1] == "" {
		return session{}, errBadSession
	}
	customerID, err := b64.DecodeString(parts[2])
	if err != nil || len(customerID) == 0 {
		return session{}, errBadSession
	}
	expUnix, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return session{}, errBadSession
	}
	expires := time.Unix(expUnix, 0)
	if !now.Before(expires) {
		return session{}, errBadSession
	}
	return session{ID: parts[1], CustomerID: string(customerID), Expires: expires}, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// csrfToken returns the token that forms of session s must carry: an
// HMAC-SHA256 of the session ID, so it is valid for this sign-in only.
func (c sessionCodec) csrfToken(s session) string {
	return b64.EncodeToString(sign(c.csrfKey, s.ID))
}

// validCSRF reports, in constant time, whether token belongs to session s.
func (c sessionCodec) validCSRF(s session, token string) bool {
	want := c.csrfToken(s)
	return subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// setSessionCookie stores s in the browser. The cookie is HttpOnly so no
// script reads it, SameSite=Lax so other sites' forms do not carry it, and
// Secure whenever the request came over TLS or Options.SecureCookies is set.
func (c sessionCodec) setSessionCookie(w http.ResponseWriter, r *http.Request, s session, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    c.encode(s),
		Path:     cookiePath,
		Expires:  s.Expires,
		MaxAge:   int(s.Expires.Sub(now).Seconds()),
		HttpOnly: true,
		Secure:   c.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (c sessionCodec) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     cookiePath,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   c.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// session returns the signed-in customer's session, if the request carries a
// valid one that was not signed out. It reads the session once per request
// and returns that result to later calls.
func (h *handler) session(r *http.Request) (session, bool) {
	memo, ok := r.Context().Value(sessionMemoKey{}).(*sessionMemo)
	if !ok {
		return h.readSession(r)
	}
	memo.once.Do(func() { memo.session, memo.ok = h.readSession(r) })
	return memo.session, memo.ok
}
