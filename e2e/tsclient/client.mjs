// The official MCP TypeScript SDK client against the gate and the
// authorization server, run by e2e/mcp_ts_test.go.
//
// The SDK does everything an MCP client does with OAuth: it meets the
// gate's 401, discovers the protected resource and the authorization
// server, registers dynamically, sends the user to /authorize with PKCE,
// exchanges the code, and refreshes when the gate turns a token down.
// Only the user's browser is played here: when the SDK asks for the
// redirect, this script walks consent, the fake GitHub and the callback
// with fetch and a small cookie jar, as Chromium would.
//
// Environment: MCP_URL (the gated MCP endpoint), ISSUER (the
// authorization server), REDIRECT_URL (the loopback redirect URI; nothing
// listens there, the browser leg stops at that redirect), TIMEOUT_MS (the
// whole run), CLIENT_METADATA_URL (optional: the client's metadata
// document URL, used as its client_id instead of registering), and for the test CA either NODE_EXTRA_CA_CERTS or
// NODE_TLS_REJECT_UNAUTHORIZED=0. Progress goes to stderr; stdout gets
// one JSON line per step, the last one the summary.

import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const MCP_URL = need('MCP_URL');
const ISSUER = need('ISSUER');
const REDIRECT_URL = process.env.REDIRECT_URL || 'http://127.0.0.1:53683/callback';
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 60000);
// CLIENT_METADATA_URL, when set, is the client's Client ID Metadata
// Document: the SDK then uses it as its client_id instead of registering,
// as it does when the server advertises client_id_metadata_document_supported.
const CLIENT_METADATA_URL = process.env.CLIENT_METADATA_URL || undefined;

function need(name) {
    const v = process.env[name];
    if (!v) {
        fail(`environment variable ${name} is not set`);
    }
    return v;
}

function log(...args) {
    console.error('[tsclient]', ...args);
}

function fail(msg) {
    console.error(`[tsclient] FAIL: ${msg}`);
    process.exit(1);
}

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

const watchdog = setTimeout(() => fail(`no result within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
watchdog.unref();

// ---- every request the SDK makes, counted ----

const stats = { registrations: 0, tokenRequests: {}, mcpUnauthorized: 0, requests: [] };

// sdkFetch is the fetch the SDK gets: it logs and counts, and changes nothing.
async function sdkFetch(url, init = {}) {
    const u = new URL(url instanceof Request ? url.url : String(url));
    const method = (init.method || 'GET').toUpperCase();
    let grant = '';
    if (init.body instanceof URLSearchParams) {
        grant = init.body.get('grant_type') || '';
    }
    const res = await fetch(url, init);
    const line = `${method} ${u.origin}${u.pathname}${grant ? ` (${grant})` : ''} -> ${res.status}`;
    stats.requests.push(line);
    log('sdk', line);
    if (method === 'POST' && typeof init.body === 'string' && init.body.includes('"redirect_uris"') && res.ok) {
        stats.registrations++; // RFC 7591: the JSON client metadata
    }
    if (grant) {
        stats.tokenRequests[grant] = (stats.tokenRequests[grant] || 0) + 1;
    }
    if (u.href.split('#')[0] === new URL(MCP_URL).href && res.status === 401) {
        stats.mcpUnauthorized++;
        log('sdk', '  WWW-Authenticate:', res.headers.get('www-authenticate'));
    }
    return res;
}

// ---- the user's browser ----

// CookieJar keeps cookies as a browser does for these origins: by host
// (not port), path prefix, Secure only over https, Max-Age and Expires.
class CookieJar {
    constructor() {
        this.cookies = [];
    }

    store(url, res) {
        const u = new URL(url);
        // getSetCookie is newer than some Node 18 releases: split the joined
        // header there, at commas that start a new name=value.
        const setCookies =
            typeof res.headers.getSetCookie === 'function'
                ? res.headers.getSetCookie()
                : (res.headers.get('set-cookie') || '').split(/,(?=\s*[^;,=\s]+=)/).filter(Boolean);
        for (const header of setCookies) {
            const [pair, ...attrs] = header.split(';').map(s => s.trim());
            const eq = pair.indexOf('=');
            if (eq <= 0) continue;
            const c = { name: pair.slice(0, eq), value: pair.slice(eq + 1), host: u.hostname, path: '/', secure: false, expires: Infinity };
            for (const a of attrs) {
                const [k, ...rest] = a.split('=');
                const v = rest.join('=');
                switch (k.toLowerCase()) {
                    case 'path':
                        c.path = v || '/';
                        break;
                    case 'secure':
                        c.secure = true;
                        break;
                    case 'max-age':
                        c.expires = Date.now() + Number(v) * 1000;
                        break;
                    case 'expires':
                        if (c.expires === Infinity) c.expires = Date.parse(v);
                        break;
                }
            }
            if (c.name.startsWith('__Host-') && (!c.secure || c.path !== '/' || u.protocol !== 'https:')) {
                throw new Error(`browser: ${u.origin} set ${c.name} without Secure, Path=/ or https`);
            }
            this.cookies = this.cookies.filter(o => !(o.name === c.name && o.host === c.host && o.path === c.path));
            if (c.expires > Date.now()) this.cookies.push(c);
        }
    }

    header(url) {
        const u = new URL(url);
        const now = Date.now();
        return this.cookies
            .filter(c => c.host === u.hostname && c.expires > now && (!c.secure || u.protocol === 'https:'))
            .filter(c => u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/'))
            .map(c => `${c.name}=${c.value}`)
            .join('; ');
    }
}

function unescapeHTML(s) {
    return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
        const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
        const k = e.toLowerCase();
        if (named[k]) return named[k];
        return String.fromCodePoint(k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10));
    });
}

// browserLogin walks the browser leg from the authorization URL to the
// redirect to the client, returning that redirect's query.
async function browserLogin(authorizationUrl) {
    const jar = new CookieJar();
    const go = async (url, init = {}) => {
        const headers = new Headers(init.headers);
        const cookie = jar.header(url);
        if (cookie) headers.set('Cookie', cookie);
        const res = await fetch(url, { ...init, headers, redirect: 'manual' });
        jar.store(url, res);
        const body = await res.text();
        const location = res.headers.get('location');
        log('browser', `${init.method || 'GET'} ${new URL(url).origin}${new URL(url).pathname} -> ${res.status}${location ? ` ${location.split('?')[0]}` : ''}`);
        return { status: res.status, location: location ? new URL(location, url).href : null, body };
    };

    // 1. /authorize: the consent page (a first visit always asks).
    let r = await go(authorizationUrl);
    if (r.status === 200) {
        if (!r.body.includes('action="/consent"')) {
            throw new Error(`browser: /authorize answered 200 without the consent form:\n${r.body.slice(0, 2000)}`);
        }
        const fields = {};
        for (const m of r.body.matchAll(/<input type="hidden" name="(flow|csrf)" value="([^"]*)">/g)) {
            fields[m[1]] = unescapeHTML(m[2]);
        }
        if (!fields.flow || !fields.csrf) {
            throw new Error(`browser: consent page without flow or csrf inputs:\n${r.body.slice(0, 2000)}`);
        }
        // 2. Approve, as Chromium posts our referrer-less same-origin form.
        r = await go(new URL('/consent', ISSUER).href, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'null', 'Sec-Fetch-Site': 'same-origin' },
            body: new URLSearchParams({ flow: fields.flow, csrf: fields.csrf, action: 'approve' }).toString()
        });
    }
    if (r.status !== 303 || !r.location || !r.location.includes('/login/oauth/authorize?')) {
        throw new Error(`browser: want a 303 to GitHub's authorize page, got ${r.status} ${r.location}\n${r.body.slice(0, 2000)}`);
    }
    // 3. GitHub: alice is signed in and has authorised the app.
    r = await go(r.location);
    if (r.status !== 302 || !r.location || !r.location.startsWith(new URL('/callback', ISSUER).href + '?')) {
        throw new Error(`browser: GitHub did not send the browser to /callback: ${r.status} ${r.location}\n${r.body.slice(0, 2000)}`);
    }
    // 4. The callback, with the cookies of steps 1-2.
    r = await go(r.location);
    if (r.status < 300 || r.status > 399 || !r.location || !r.location.startsWith(REDIRECT_URL + '?')) {
        throw new Error(`browser: the callback did not redirect to ${REDIRECT_URL}: ${r.status} ${r.location}\n${r.body.slice(0, 2000)}`);
    }
    return new URL(r.location).searchParams;
}

// ---- the OAuthClientProvider, in memory ----

class MemoryProvider {
    constructor() {
        this._client = undefined;
        this._tokens = undefined;
        this._verifier = undefined;
        this._state = undefined;
        this.savedTokens = []; // every saveTokens call, in order
        this.logins = 0;
        this.callback = undefined; // the query of the last browser redirect
    }

    get redirectUrl() {
        return REDIRECT_URL;
    }

    get clientMetadataUrl() {
        return CLIENT_METADATA_URL;
    }

    get clientMetadata() {
        return {
            client_name: 'MCP TypeScript SDK e2e',
            redirect_uris: [REDIRECT_URL],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none'
        };
    }

    state() {
        this._state = randomBytes(16).toString('base64url');
        return this._state;
    }

    clientInformation() {
        return this._client;
    }

    saveClientInformation(info) {
        log('provider', `saveClientInformation client_id=${info.client_id} issuer=${info.issuer}`);
        this._client = info;
    }

    tokens() {
        return this._tokens;
    }

    saveTokens(tokens) {
        log('provider', `saveTokens (${this.savedTokens.length + 1}) expires_in=${tokens.expires_in} refresh_token=${tokens.refresh_token ? 'yes' : 'no'} issuer=${tokens.issuer}`);
        this._tokens = tokens;
        this.savedTokens.push(tokens);
    }

    saveCodeVerifier(v) {
        this._verifier = v;
    }

    codeVerifier() {
        if (!this._verifier) throw new Error('no code verifier saved');
        return this._verifier;
    }

    async redirectToAuthorization(url) {
        this.logins++;
        log('provider', `redirectToAuthorization ${url.origin}${url.pathname} resource=${url.searchParams.get('resource')} scope=${url.searchParams.get('scope')}`);
        this.authorizationUrl = url;
        this.callback = await browserLogin(url.href);
    }

    invalidateCredentials(scope) {
        log('provider', `invalidateCredentials(${scope})`);
        if (scope === 'all' || scope === 'client') this._client = undefined;
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
    }
}

// ---- the run ----

const provider = new MemoryProvider();
const newTransport = () => new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: sdkFetch });
const client = new Client({ name: 'ts-sdk-e2e', version: '1.0.0' });
client.onerror = err => log('client onerror:', err?.message ?? err);

async function main() {
    // First connect: no token, the gate says 401, the SDK discovers,
    // registers and sends the "browser" to /authorize.
    let transport = newTransport();
    try {
        await client.connect(transport);
        throw new Error('the first connect succeeded without any authorization');
    } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
        log('first connect rejected as expected:', err.message);
    }
    const cb = provider.callback;
    if (!cb) throw new Error('the SDK never called redirectToAuthorization');
    if (cb.get('error')) throw new Error(`authorization failed: ${cb.get('error')} ${cb.get('error_description')}`);
    const code = cb.get('code');
    const callback = { code: Boolean(code), stateMatches: cb.get('state') === provider._state, iss: cb.get('iss') };
    if (!code) throw new Error(`no code in the redirect: ${cb}`);
    await transport.finishAuth(code);
    await transport.close().catch(() => {});

    // Second connect with the tokens.
    transport = newTransport();
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map(t => t.name);
    const first = await client.callTool({ name: 'whoami' });
    if (first.isError) throw new Error(`whoami failed: ${JSON.stringify(first)}`);
    const whoami = first.structuredContent ?? JSON.parse(first.content?.[0]?.text ?? '{}');
    emit({ step: 'connected', tools, whoami, callback });

    // Refresh: the access token goes bad, the refresh token stays.
    const before = provider._tokens;
    const savesBefore = provider.savedTokens.length;
    const unauthorizedBefore = stats.mcpUnauthorized;
    provider._tokens = { ...before, access_token: 'garbage-' + randomBytes(16).toString('hex') };
    const second = await client.callTool({ name: 'whoami' });
    if (second.isError) throw new Error(`whoami after refresh failed: ${JSON.stringify(second)}`);
    const whoamiAfterRefresh = second.structuredContent ?? JSON.parse(second.content?.[0]?.text ?? '{}');
    const after = provider._tokens;
    const refreshed =
        stats.mcpUnauthorized > unauthorizedBefore &&
        (stats.tokenRequests.refresh_token || 0) >= 1 &&
        provider.savedTokens.length > savesBefore &&
        after.access_token !== before.access_token &&
        !after.access_token.startsWith('garbage-');
    emit({ step: 'refreshed', whoami: whoamiAfterRefresh, refreshed });

    await client.close();

    emit({
        step: 'summary',
        tools,
        whoami,
        whoamiAfterRefresh,
        callback,
        registrations: stats.registrations,
        clientId: provider._client?.client_id ?? null,
        logins: provider.logins,
        tokenRequests: stats.tokenRequests,
        mcpUnauthorized: stats.mcpUnauthorized,
        saveTokensCalls: provider.savedTokens.length,
        refreshed,
        refreshTokenRotated: Boolean(before.refresh_token && after.refresh_token && before.refresh_token !== after.refresh_token),
        tokensIssuer: after.issuer,
        authorizationResource: provider.authorizationUrl?.searchParams.get('resource') ?? null,
        requests: stats.requests
    });
}

main().then(
    () => process.exit(0),
    err => fail(`${err?.stack ?? err}${err?.cause ? `\ncaused by: ${err.cause?.stack ?? err.cause}` : ''}`)
);
