// util.js - small DOM and formatting helpers shared by the views.
//
// Everything that comes from the API (node names, BMC messages, labels) is
// put into the page as text, never as HTML: h() only ever sets textContent
// and attributes, so a BMC that names a sensor "<img onerror=...>" shows
// exactly that.

// h('a', {href: '#/x', class: 'c'}, 'text', child, [more children])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = [];
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked') props.push([k, v]);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  // After the children: a <select>'s value needs its options first.
  for (const [k, v] of props) el[k] = v;
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Replace a container's children.  The live refresh rebuilds parts of the
// page every few seconds; without this a keyboard user would lose their place
// each time.  Elements that can hold focus carry data-key; the one that had
// focus gets it back in the new content.
export function replace(container, ...children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : undefined;
  container.replaceChildren();
  append(container, children);
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus({preventScroll: true});
  }
}

// A panel of a view: <section> labelled by its <h2>.  The last argument may
// be options: {wide: true} spans the whole grid row.
export function section(id, title, ...children) {
  const opts = children.length && children[children.length - 1] && children[children.length - 1].constructor === Object
    ? children.pop() : {};
  return h('section', {class: `panel${opts.wide ? ' wide' : ''}`, id, 'aria-labelledby': `${id}-title`},
    h('h2', {id: `${id}-title`}, title), children);
}

// ---- words for states ------------------------------------------------------

// Node health from the poller, in words and with a glyph, so that state is
// never told by colour alone.
export const HEALTH = {
  ok: {text: 'OK', glyph: '\u2714', help: 'latest polls succeeded, every sensor normal'},
  degraded: {text: 'Degraded', glyph: '\u25B2', help: 'a sensor is warning or critical, or a poll fails'},
  unreachable: {text: 'Unreachable', glyph: '\u2716', help: 'the BMC does not answer'},
  auth_failed: {text: 'BMC login refused', glyph: '\u2716', help: 'the BMC refuses the stored credentials'},
  unknown: {text: 'Not polled', glyph: '?', help: 'no successful sensor poll yet (or the BMC has no sensors)'},
};
export const HEALTH_ORDER = ['unreachable', 'auth_failed', 'degraded', 'ok', 'unknown'];

export function healthBadge(health) {
  const hh = HEALTH[health] || HEALTH.unknown;
  return h('span', {class: `badge health-${HEALTH[health] ? health : 'unknown'}`, title: hh.help},
    h('span', {'aria-hidden': 'true', class: 'glyph'}, hh.glyph), ' ', hh.text);
}

export const SENSOR_STATUS = {
  ok: {text: 'OK', glyph: '\u2714'},
  warning: {text: 'Warning', glyph: '\u25B2'},
  critical: {text: 'Critical', glyph: '\u2716'},
  unknown: {text: 'Unknown', glyph: '?'},
  info: {text: 'Info', glyph: 'i'}, // event severities share these badges
};

export function statusBadge(status) {
  const s = SENSOR_STATUS[status] ? status : 'unknown';
  return h('span', {class: `badge status-${s}`},
    h('span', {'aria-hidden': 'true', class: 'glyph'}, SENSOR_STATUS[s].glyph), ' ', SENSOR_STATUS[s].text);
}

export const JOB_STATE = {
  queued: 'Queued', running: 'Running', succeeded: 'Done', failed: 'Failed', canceled: 'Canceled',
};
export const jobFinished = (j) => j.state === 'succeeded' || j.state === 'failed' || j.state === 'canceled';

export function jobBadge(state) {
  const glyph = {queued: '\u2026', running: '\u25B6', succeeded: '\u2714', failed: '\u2716', canceled: '\u25A0'}[state] || '?';
  return h('span', {class: `badge job-${state}`},
    h('span', {'aria-hidden': 'true', class: 'glyph'}, glyph), ' ', JOB_STATE[state] || state);
}

export function powerText(p) {
  return p === 'on' ? 'On' : p === 'off' ? 'Off' : 'Unknown';
}

// What a job does, as an operator would say it.
export function jobTitle(j) {
  const p = j.params || {};
  switch (j.type) {
  case 'power':
    return {
      on: 'Power on', off: 'Power off (hard)', soft: 'Soft power off', cycle: 'Power cycle',
      reset: 'Hard reset', status: 'Read power state',
    }[p.action] || `Power ${p.action || ''}`.trim();
  case 'boot':
    return p.device ? `Boot from ${deviceText(p.device)}${p.persistent ? ' (always)' : ' (next boot)'}`
      : 'Read boot device';
  case 'sensors': return 'Read sensors';
  case 'sel': return p.clear ? 'Collect and clear event log' : 'Collect event log';
  case 'inventory': return 'Read inventory';
  case 'batch': {
    const n = Array.isArray(p.nodes) ? p.nodes.length : 0;
    return `${jobTitle({type: p.type, params: p.params || {}})} on ${count(n, 'node')}`;
  }
  default: return {
    'bios.read': 'Read BIOS settings', 'bios.set': 'Change BIOS settings', 'raid.read': 'Read RAID configuration',
    'raid.create': 'Create RAID volume', 'raid.delete': 'Delete RAID volume', 'firmware.list': 'Read firmware versions',
    'firmware.update': 'Update firmware',
  }[j.type] || j.type;
  }
}

export function deviceText(d) {
  return {none: 'firmware boot order', pxe: 'network (PXE)', disk: 'disk', cdrom: 'CD/DVD', bios: 'firmware setup'}[d] || d;
}

// "1 drive", "6 drives".
export const count = (n, one) => `${n} ${one}${n === 1 ? '' : 's'}`;

// What a finished job found, in words.
export function jobResultText(j) {
  const r = j.result;
  if (!r) return '';
  switch (j.type) {
  case 'power': return r.power ? `Power is ${powerText(r.power).toLowerCase()}.` : '';
  case 'boot':
    return `Boot device: ${deviceText(r.device)}` +
      (r.persistent === true ? ', every boot' : r.persistent === false ? ', next boot only' : '') +
      (r.mode ? `, ${r.mode === 'uefi' ? 'UEFI' : 'legacy BIOS'}` : '') + '.';
  case 'sel': return `Read ${r.read} event log entries, ${r.new} new${r.cleared ? '; log cleared' : ''}.`;
  case 'sensors': return `Read ${(r.sensors || []).length} sensors.`;
  case 'inventory': return 'Inventory collected.';
  case 'batch': {
    const c = r.counts || {};
    const n = Object.values(c).reduce((a, b) => a + b, 0);
    return `All ${count(n, 'node')} done.`;
  }
  case 'firmware.list': return `Read ${count((r.components || []).length, 'firmware component')}.`;
  case 'firmware.update': {
    if (r.applies) return `Staged; it applies ${r.applies}.`;
    const ch = Object.entries(r.changed || {});
    return ch.length ? `Updated ${ch.map(([id, c]) => `${id} from ${c.from ?? 'none'} to ${c.to}`).join('; ')}.` : '';
  }
  case 'bios.read':
    return `Read ${Object.keys(r.attributes || {}).length} BIOS settings, ${Object.keys(r.pending || {}).length} pending.`;
  case 'bios.set': {
    const pairs = (o) => Object.entries(o || {}).map(([k, v]) => `${k}=${v ?? '(none)'}`).join(', ');
    if (r.unchanged) return `Already set (${pairs(r.requested)}); nothing written.`;
    if (r.staged) return `Staged ${pairs(r.staged)}; applies ${r.applies || 'at the next reset'}.`;
    return r.requested ? `Applied and verified: ${pairs(r.requested)}.` : '';
  }
  case 'raid.read': {
    const cs = r.controllers || [];
    const sum = (k) => cs.reduce((a, c) => a + (c[k] || []).length, 0);
    return `${count(cs.length, 'storage controller')}, ${count(sum('drives'), 'drive')}, ${count(sum('volumes'), 'volume')}.`;
  }
  case 'raid.create': return r.volume ? `Volume ${r.volume.id} (${r.volume.raid_type}) created and verified.` : '';
  case 'raid.delete': return r.deleted ? `Volume ${r.deleted} deleted.` : '';
  default: return '';
  }
}

// ---- numbers and times -----------------------------------------------------

const UNITS = {celsius: '\u00B0C', rpm: 'RPM', volts: 'V', amperes: 'A', watts: 'W'};
export function unitText(u) {
  return UNITS[u] ?? u ?? '';
}

export function num(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '\u2014';
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return Number(v).toLocaleString(undefined, {maximumFractionDigits: d});
}

export function reading(v, unit) {
  if (v === null || v === undefined) return '\u2014';
  return `${num(v)}\u00A0${unitText(unit)}`.trim();
}

// Times are 24-hour with the zone always shown: UTC by default (a fleet
// spans time zones; logs and BMCs speak UTC), the browser's local zone as an
// option (the header's "Times" button, remembered per browser).
const TZ_KEY = 'underlay.tz';
export const timeZone = {
  get local() { return localStorage.getItem(TZ_KEY) === 'local'; },
  set(local) { localStorage.setItem(TZ_KEY, local ? 'local' : 'utc'); },
};
const pad = (n) => String(n).padStart(2, '0');
// "+01:00"-style zone name for the local zone ("UTC" when it is UTC).
function localZone(d) {
  try {
    const z = new Intl.DateTimeFormat('en-GB', {timeZoneName: 'short'}).formatToParts(d)
      .find((x) => x.type === 'timeZoneName');
    if (z) return z.value;
  } catch { /* fall back to the offset */ }
  const off = -d.getTimezoneOffset();
  return off ? `UTC${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}` : 'UTC';
}
function parts(d) {
  if (timeZone.local) {
    return {y: d.getFullYear(), mo: d.getMonth() + 1, day: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds(), z: localZone(d)};
  }
  return {y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, day: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(), z: 'UTC'};
}
const dateOf = (p) => `${p.y}-${pad(p.mo)}-${pad(p.day)}`;
const clockOf = (p) => `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;

// "2026-12-05 01:48:49 UTC"
export function timeText(iso) {
  if (!iso) return '\u2014';
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = parts(d);
  return `${dateOf(p)} ${clockOf(p)} ${p.z}`;
}

// "01:48:49 UTC" (the clock alone, e.g. the header's "Updated").
export function clockText(d = new Date()) {
  const p = parts(d);
  return `${clockOf(p)} ${p.z}`;
}

// Compact, for table cells: the time alone when it is today (in the zone
// shown), else the date too; the zone always.
export function shortTime(iso) {
  if (!iso) return '\u2014';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = parts(d), today = parts(new Date());
  return dateOf(p) === dateOf(today) ? `${clockOf(p)} ${p.z}` : `${dateOf(p)} ${pad(p.h)}:${pad(p.mi)} ${p.z}`;
}

export function agoText(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function timeEl(iso) {
  return iso ? h('time', {datetime: iso, title: timeText(iso)}, agoText(iso)) : h('span', {}, '\u2014');
}

export function durationText(j) {
  if (!j.started_at) return '';
  const end = j.finished_at ? new Date(j.finished_at) : new Date();
  const s = Math.max(0, Math.round((end - new Date(j.started_at)) / 1000));
  return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
}
