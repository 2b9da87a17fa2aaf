// Package bank is a local ASPSP (a bank's side) of the UK Open Banking
// (OBIE) Account and Transaction API v3.1, for demos and tests. It is never
// a real bank: it serves demo customers read from a data directory, accepts
// one registered client, and keeps consents, codes and tokens in memory, so a
// restart loses every consent and token.
//
// The flow it implements:
//   - POST /token issues client-credentials tokens, exchanges authorization
//     codes and rotates refresh tokens (RFC 6749, client authentication by
//     HTTP Basic).
//   - POST, GET and DELETE /open-banking/v3.1/aisp/account-access-consents
//     create, read and revoke consents.
//   - GET /authorize shows an approval page where a demo customer approves or
//     denies the consent; with login_hint=<customer> and prompt=none it
//     approves at once for that customer.
//   - When the authorization request's scope contains openid, the
//     authorization_code grant also returns an ES256 OpenID Connect ID token
//     with the request's nonce and, when the customer's first party has a
//     BirthDate, a birthdate claim. GET /jwks serves its public key, which New
//     generates and keeps in memory only, and GET
//     /.well-known/openid-configuration names the issuer and jwks_uri.
//   - GET /open-banking/v3.1/aisp/... serves accounts, balances,
//     transactions, parties, direct debits, standing orders and scheduled
//     payments, each refused with 403 unless the consent's Permissions allow
//     it.
//   - POST /admin/faults, /admin/advance and /admin/cancel-order, served
//     only when Options.Admin is set, inject failures, book pending entries
//     and cancel a direct debit, standing order or scheduled payment. The
//     fault kinds are 429, 503, 401, malformed, next-loop, bad-record (one
//     Amount "12,30") and negative-debit (one transaction sent with Amount
//     "-<amount>" beside CreditDebitIndicator Debit), and, for the next
//     authorization_code grant, id-token-foreign-key (signed with a key
//     outside the JWK set) and id-token-wrong-nonce.
//
// Query date-times (fromBookingDateTime, toBookingDateTime) without a zone
// are read as Europe/London wall-clock time, as the OBIE read/write profile
// requires. The profile also states that a zone, if sent, must be ignored.
// This bank honours a zone instead (2026-01-01T00:00:00Z is that instant), as
// several live ASPSPs do, so that clients which send one see what they
// asked for. A date alone (2026-01-01) is accepted too. Both bounds are
// inclusive, and a date alone as toBookingDateTime covers that whole day.
package bank
