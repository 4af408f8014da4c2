// app.js - the dashboard's shell: sign-in, hash routing between the views,
// the live refresh timer, wall mode and the confirmation dialog.
//
// Views (fleet.js, node.js, jobs.js) export mount(container, params, app),
// which draws the view and returns {refresh, unmount}.  The shell calls
// refresh() every REFRESH_MS while the tab is visible, never two at once, so
// a slow daemon is not sent a pile of overlapping requests.
import {api, session, onUnauthorized, ApiError} from './api.js';
import * as fleet from './fleet.js';
import * as node from './node.js';
import * as jobs from './jobs.js';
import * as events from './events.js';
import * as admin from './admin.js';
import {clockText, timeZone} from './util.js';

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);

let current = null;       // the mounted view: {name, refresh, unmount}
let refreshing = false;
let lastOk = 0;

// ---- the view's state line ------------------------------------------------

// #live is an aria-live region: it only changes when the state changes, so a
// screen reader hears "Connection lost" once, not a tick every five seconds.
function setLive(text, bad) {
  const el = $('live');
  if (el.textContent !== text) el.textContent = text;
  el.classList.toggle('bad', !!bad);
}

function setUpdated() {
  lastOk = Date.now();
  $('updated').textContent = `Updated ${clockText(new Date(lastOk))}`;
}

// A refresh asked for while one runs (e.g. a new view mounted while the
// last one's refresh is still being aborted) runs as soon as it ends.
let again = false;
async function refresh() {
  if (refreshing) again = true;
  if (!current || refreshing || !session.token) return;
  refreshing = true;
  again = false;
  const view = current;
  try {
    await view.refresh();
    if (view === current) {
      setUpdated();
      setLive(document.hidden ? 'Paused' : 'Live');
    }
  } catch (e) {
    if (e.name !== 'AbortError' && view === current && e.status !== 401)
      setLive(e.code === 'network' ? 'Connection lost: retrying' : `Refresh failed: ${e.message}`, true);
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  // Hidden tabs stop polling underlayd; coming back refreshes at once.
  if (document.hidden) setLive('Paused');
  else refresh();
});

// ---- routing ------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return {parts, query: new URLSearchParams(query)};
}

function route() {
  if (!session.token) {
    showSignIn();
    return;
  }
  const {parts, query} = parseHash();
  let name = parts[0] || 'fleet', mod, params;
  if (name === 'node' && parts[1]) {
    mod = node; params = {name: parts[1]};
  } else if (name === 'jobs') {
    mod = jobs; params = {id: parts[1], query};
  } else if (name === 'events') {
    mod = events; params = {query};
  } else if (name === 'enrol') {
    mod = admin; params = {};
  } else if (name === 'edit' && parts[1]) {
    mod = admin; params = {edit: parts[1]};
  } else {
    name = 'fleet'; mod = fleet; params = {query};
  }
  // The fleet keeps its filters in the hash with replaceState, which fires
  // no hashchange; a hashchange to the very same address (a re-click) keeps
  // the view as it is.
  if (current && current.key === location.hash) return;
  showApp();
  if (current) current.unmount();
  const container = $('view');
  container.replaceChildren();
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const inst = mod.mount(container, params, app);
  current = {name, key: location.hash, ...inst};
  // Move focus to the new view's heading so screen readers announce it.
  const h1 = container.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({preventScroll: true});
    document.title = `${h1.textContent} \u2013 underlay`;
  }
  refresh();
}

window.addEventListener('hashchange', route);

// ---- sign-in --------------------------------------------------------------------

function showSignIn(message) {
  if (current) current.unmount();
  current = null;
  $('view').replaceChildren();
  $('nav').hidden = true;
  $('session-tools').hidden = true;
  $('signin').hidden = false;
  const msg = $('signin-message');
  msg.hidden = !message;
  msg.textContent = message || '';
  document.title = 'Sign in \u2013 underlay';
  $('token').focus();
}

function showApp() {
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('session-tools').hidden = false;
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  const button = ev.target.querySelector('button');
  if (!token) {
    showSignIn('Enter an API token.');
    return;
  }
  button.disabled = true;
  try {
    // Any role may list nodes: this checks the token and nothing else.
    await api('GET', '/nodes?limit=1', {token});
    session.set(token);
    input.value = '';
    current = null;
    route();
  } catch (e) {
    const text = e.status === 401
      ? 'That token was refused by underlayd. Check that you copied all of it, and that it has not been deleted.'
      : e instanceof ApiError ? e.message : String(e);
    showSignIn(text);
    input.select();
  } finally {
    button.disabled = false;
  }
});

$('sign-out').addEventListener('click', () => {
  session.clear();
  showSignIn('Signed out. The token has been removed from this tab.');
});

onUnauthorized(() => {
  session.clear();
  showSignIn('That token was refused by underlayd (it may have been deleted). Sign in again.');
});

// ---- wall mode ------------------------------------------------------------------

// Bigger type and tiles for a screen read from across a room; remembered per
// browser.  The layout also scales with the window by itself (style.css).
function setWall(on) {
  document.documentElement.classList.toggle('wall', on);
  $('wall-toggle').setAttribute('aria-pressed', String(on));
  localStorage.setItem('underlay.wall', on ? '1' : '0');
}
$('wall-toggle').addEventListener('click', () =>
  setWall(!document.documentElement.classList.contains('wall')));
setWall(localStorage.getItem('underlay.wall') === '1');

// ---- time zone -------------------------------------------------------------------

// Times are 24-hour with the zone shown; UTC unless the operator asks for
// the browser's zone.  A change redraws the view.
function showZone() {
  $('tz-toggle').textContent = timeZone.local ? 'Times: local' : 'Times: UTC';
  $('tz-toggle').title = timeZone.local
    ? 'Times are shown in this browser\'s time zone; press for UTC' : 'Times are shown in UTC; press for this browser\'s time zone';
}
$('tz-toggle').addEventListener('click', () => {
  timeZone.set(!timeZone.local);
  showZone();
  if (lastOk) setUpdated();
  if (current) { current.key = ''; route(); }
});
showZone();

// ---- keyboard shortcuts --------------------------------------------------------

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t.closest && t.closest('input, select, textarea, dialog')) return;
  if (ev.key === '/' && $('search')) {
    ev.preventDefault();
    $('search').focus();
  } else if (ev.key === 'w' && session.token) {
    setWall(!document.documentElement.classList.contains('wall'));
  }
});

// ---- confirmation dialog ------------------------------------------------------

// Ask before anything that changes a machine.  Resolves true only when the
// operator presses the confirm button; Escape and Cancel resolve false.
// Focus starts on Cancel and returns to the button that asked.
// `list` (optional): the things it acts on (e.g. node names), shown in full
// in a scrolling list under listTitle.
function confirmAction({title, text, ok, list, listTitle}) {
  const dlg = $('confirm');
  const back = document.activeElement;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-more').hidden = !list;
  $('confirm-list-title').textContent = listTitle || '';
  const ul = $('confirm-list');
  ul.replaceChildren(...(list || []).map((x) => {
    const li = document.createElement('li');
    li.textContent = x;
    return li;
  }));
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      if (back && back.isConnected) back.focus();
    }, {once: true});
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

// What the views get from the shell.
const app = {
  confirm: confirmAction,
  refresh,
  setLive,
};

route();
