// A minimal merchant integration of insights. It requests a proof that the
// customer is over 18, prints the consent page link, waits for the
// customer to come back to its redirect URI (or polls when it has none),
// fetches the token and verifies it offline with the jose library:
// signature against the issuer's JWK set, issuer, audience, expiry with
// clock skew, and the token's status list entry.
//
// Usage: INSIGHTS_API_KEY=ik_... node merchant.mjs [--base-url URL] [--redirect-uri URI] [--timeout SECONDS]

import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';

// How far the merchant's clock may differ from the issuer's, in seconds.
const CLOCK_SKEW = 30;

const { values: args } = parseArgs({
  options: {
    'base-url': { type: 'string', default: process.env.INSIGHTS_URL || 'http://127.0.0.1:8080' },
    'redirect-uri': { type: 'string', default: '' },
    timeout: { type: 'string', default: '300' },
  },
});
const baseURL = args['base-url'].replace(/\/+$/, '');
const apiKey = process.env.INSIGHTS_API_KEY;
if (!apiKey) {
  console.error('INSIGHTS_API_KEY is required');
  process.exit(1);
}
const deadline = Date.now() + Number(args.timeout) * 1000;

// One remote JWK set for the process: jose caches the keys and fetches
// them again when a token names an unknown kid, so issuer key rotation
// needs no restart.
const issuerKeys = createRemoteJWKSet(new URL(baseURL + '/.well-known/jwks.json'));

async function graphql(query, variables) {
  const response = await fetch(baseURL + '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + apiKey },
    body: JSON.stringify({ query, variables }),
  });
  const result = await response.json();
  if (result.errors && result.errors.length > 0) {
    const e = result.errors[0];
    throw new Error(`GraphQL error ${e.extensions && e.extensions.code}: ${e.message}`);
  }
  return result.data;
}

// Serves the redirect URI until the customer arrives with this request's
// ID and the state sent with it.
function waitForRedirect(redirectURI, requestID, state) {
  const uri = new URL(redirectURI);
  if (uri.protocol !== 'http:' || uri.hostname !== '127.0.0.1') {
    throw new Error(`redirect URI ${redirectURI}: this example receives the customer on http://127.0.0.1 only`);
  }
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const url = new URL(req.url, redirectURI);
      const q = url.searchParams;
      if (url.pathname !== uri.pathname) {
        res.writeHead(404).end('not found\n');
        return;
      }
      if (q.get('state') !== state || q.get('request_id') !== requestID) {
        // Another tab or a forged link: ignore it and keep waiting.
        res.writeHead(400).end('unknown request or state\n');
        return;
      }
      clearTimeout(timer);
      server.close();
      if (q.get('status') !== 'approved') {
        res.end('You declined. Nothing was shared.\n');
        reject(new Error(`the customer declined request ${requestID}`));
        return;
      }
      res.end('Thank you. You can close this page.\n');
      console.log('customer returned: approved');
      resolve();
    });
    const timer = setTimeout(() => {
      server.close();
      reject(new Error('no decision before the timeout'));
    }, Math.max(0, deadline - Date.now()));
    server.on('error', reject);
    server.listen(Number(uri.port), uri.hostname, () => console.log(`waiting for the customer at ${redirectURI}`));
  });
}

// Polls the request until its token is issued.
async function waitForToken(requestID) {
  for (;;) {
    const data = await graphql('query($id: ID!) { attestationRequest(id: $id) { status attestation { token } } }', { id: requestID });
    const request = data.attestationRequest;
    if (request.status === 'ISSUED') return request.attestation.token;
    if (['DENIED', 'EXPIRED', 'REVOKED'].includes(request.status)) {
      throw new Error(`request ${requestID} is ${request.status}`);
    }
    if (Date.now() > deadline) throw new Error('no token before the timeout');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Fetches the status list the token's status claim names, verifies it with
// the issuer's keys and returns the token's entry (IETF
// draft-ietf-oauth-status-list: 0 VALID, 1 INVALID, 2 SUSPENDED).
async function tokenStatus(payload) {
  const ref = payload.status && payload.status.status_list;
  if (!ref || typeof ref.uri !== 'string' || !Number.isInteger(ref.idx)) {
    throw new Error('the token has no status claim');
  }
  if (!ref.uri.startsWith(baseURL + '/')) throw new Error(`status list ${ref.uri} is not on the issuer`);
  const response = await fetch(ref.uri, { headers: { Accept: 'application/statuslist+jwt' } });
  if (!response.ok) throw new Error(`fetch ${ref.uri}: HTTP ${response.status}`);
  const { payload: list } = await jwtVerify(await response.text(), issuerKeys, {
    subject: ref.uri,
    typ: 'statuslist+jwt',
    clockTolerance: CLOCK_SKEW,
  });
  const bits = list.status_list.bits;
  const bitmap = inflateSync(Buffer.from(list.status_list.lst, 'base64url'));
  // Entry idx occupies bits idx*bits ... of the byte array, least
  // significant bit first.
  const bit = ref.idx * bits;
  if (bit / 8 >= bitmap.length) throw new Error(`index ${ref.idx} is outside the list`);
  return (bitmap[Math.floor(bit / 8)] >> (bit % 8)) & ((1 << bits) - 1);
}

async function main() {
  // 1. Who am I? The token's aud must be this client ID.
  const { viewer } = await graphql('{ viewer { id } }');

  // 2. Ask for the proof. state ties the customer's return to this run.
  const state = randomBytes(16).toString('hex');
  const input = { purpose: 'Age check for your order', claims: [{ ageOver: { minimumAge: 18 } }] };
  if (args['redirect-uri']) {
    input.redirectUri = args['redirect-uri'];
    input.state = state;
  }
  const created = await graphql(
    `mutation($input: RequestAttestationInput!) {
      requestAttestation(input: $input) { attestationRequest { id consentUrl } userErrors { field message } }
    }`,
    { input },
  );
  const { attestationRequest: request, userErrors } = created.requestAttestation;
  if (userErrors.length > 0) throw new Error(`request rejected: ${userErrors[0].field.join('.')}: ${userErrors[0].message}`);
  console.log(`request_id: ${request.id}`);
  console.log(`consent_url: ${request.consentUrl}`);

  // 3. Wait for the customer, then fetch the token.
  if (args['redirect-uri']) await waitForRedirect(args['redirect-uri'], request.id, state);
  const token = await waitForToken(request.id);

  // 4. Verify the token offline and check its status list entry.
  const { payload } = await jwtVerify(token, issuerKeys, {
    issuer: baseURL,
    audience: viewer.id,
    algorithms: ['ES256', 'EdDSA'],
    clockTolerance: CLOCK_SKEW,
  });
  const status = await tokenStatus(payload);
  if (status !== 0) throw new Error(`status list entry is ${status}, not 0 (VALID): the customer revoked the proof`);
  console.log('status: VALID');
  console.log(`verified claims: ${JSON.stringify(payload)}`);
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
