// api.js - the page's only way to underlayd: the public REST API under
// /api/v1, with the operator's token as a bearer header on every call.
//
// The token lives in sessionStorage: it survives a reload of the tab but not
// closing it, and no other site can read it.  It is never put in a URL (URLs
// end up in logs and history).

const TOKEN_KEY = 'underlay.token';
const REQUEST_TIMEOUT_MS = 30000;

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ''; },
  set(t) { sessionStorage.setItem(TOKEN_KEY, t); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

// API error codes (docs/openapi.yaml, ErrorDetail.code: the ul_err names and
// the HTTP-level ones) in the words an operator needs first; the API's own
// message stays available as the detail.
const WORDS = {
  network: 'Cannot reach underlayd: the daemon may be stopped, or the network between you and it is down.',
  unauthorized: 'That token was refused by underlayd.',
  forbidden: 'Your token is not allowed to do this.',
  not_found: 'Not found.',
  invalid_argument: 'underlayd refused the request as invalid.',
  conflict: 'Not possible in the current state (the machine may be off, or another operation is under way).',
  not_supported: 'Not supported by this BMC.',
  busy: 'The BMC is busy; try again in a moment.',
  timeout: 'The BMC did not answer in time.',
  unreachable: 'The BMC cannot be reached on the network.',
  auth_failed: 'The BMC refused the user name or password stored for it.',
  protocol_error: 'The BMC gave an answer underlayd did not understand.',
  canceled: 'Canceled by an operator.',
  interrupted: 'underlayd stopped or restarted while this was running.',
  io_error: 'A file or network error on the underlayd server.',
  store_error: 'underlayd could not read or write its state database.',
  internal: 'An internal error in underlayd.',
  rejected: 'The BMC refused the change.',
  payload_too_large: 'The request was too large for underlayd.',
  precondition_failed: 'Someone changed this node since you opened it.',
  unsupported_media_type: 'The page sent a request underlayd does not accept (a bug in the page).',
  method_not_allowed: 'The page sent a request underlayd does not accept (a bug in the page).',
};

// A 403 says which role is needed: "token 'x' has role viewer; POST ... needs operator".
function forbiddenWords(detail) {
  const m = /has role (\w+);.* needs (\w+)/.exec(detail || '');
  return m ? `Your token has the ${m[1]} role; this needs the ${m[2]} role (ask an admin for an ${m[2]} token).`
    : WORDS.forbidden;
}

export function errorWords(code, detail) {
  if (code === 'forbidden') return forbiddenWords(detail);
  return WORDS[code] || 'underlayd reported an error.';
}

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(errorWords(code, detail));
    this.status = status;
    this.code = code;
    this.detail = detail || '';
  }
}

// Where a 401 on any call goes (the app returns to sign-in).
let unauthorized = () => {};
export function onUnauthorized(fn) { unauthorized = fn; }

// api('GET', '/nodes') -> parsed JSON.  Options: body (sent as JSON), token
// (instead of the session's; a 401 then does not sign out), blob (return the
// body as a Blob), signal (AbortController), headers (more request
// headers, e.g. If-Match), etag (return {body, etag}: the ETag header too).
export async function api(method, path, opts = {}) {
  const headers = {Authorization: `Bearer ${opts.token ?? session.token}`, ...(opts.headers || {})};
  const init = {method, headers, cache: 'no-store', signal: opts.signal};
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  // No call waits for ever: a daemon that does not answer within
  // REQUEST_TIMEOUT_MS is reported like one that cannot be reached (and the
  // live refresh tries again), instead of holding the page's refresh.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), REQUEST_TIMEOUT_MS);
  if (opts.signal) {
    if (opts.signal.aborted) timeout.abort();
    else opts.signal.addEventListener('abort', () => timeout.abort(), {once: true});
  }
  init.signal = timeout.signal;
  let r;
  try {
    r = await fetch('/api/v1' + path, init);
    if (r.ok && r.status !== 204) {
      const body = opts.blob ? await r.blob() : await r.json();
      if (opts.etag) return {body, etag: r.headers.get('ETag') || ''};
      return body;
    }
  } catch (e) {
    if (e.name === 'AbortError' && opts.signal && opts.signal.aborted) throw e;
    if (e.name === 'AbortError') throw new ApiError(0, 'network', `no answer from underlayd within ${REQUEST_TIMEOUT_MS / 1000} s (${method} ${path.split('?')[0]})`);
    throw new ApiError(0, 'network', String(e.message || e));
  } finally {
    clearTimeout(timer);
  }
  if (r.ok) return null; // 204
  let code = `http_${r.status}`, detail = `HTTP ${r.status} ${r.statusText}`;
  try {
    const j = await r.json();
    if (j && j.error) ({code, message: detail} = j.error);
  } catch { /* not JSON: keep the status line */ }
  const err = new ApiError(r.status, code, detail);
  if (r.status === 401 && opts.token === undefined) unauthorized(err);
  throw err;
}

// Every item of a paged list (limit/offset), up to `max`.
let pageSize = 1000; // the API's default cap (api.page_max); lowered if the server says so
export async function apiAll(path, opts = {}, max = 20000) {
  const sep = path.includes('?') ? '&' : '?';
  const items = [];
  for (let offset = 0; offset < max;) {
    let page;
    try {
      page = await api('GET', `${path}${sep}limit=${pageSize}&offset=${offset}`, opts);
    } catch (e) {
      if (e.code !== 'invalid_argument' || !/'limit'/.test(e.detail) || pageSize === 100) throw e;
      pageSize = 100; // a server configured with a smaller page_max
      continue;
    }
    items.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total) break;
  }
  return items;
}

export const enc = encodeURIComponent;
