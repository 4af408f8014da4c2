// fleet.js - the fleet (#/fleet): every node as a tile coloured by health,
// or (view=list) as one row of a dense, sortable table that can be grouped
// by a label (rack, site) and draws only the rows in sight, so 10,000 nodes
// scroll smoothly.  Filters (health, power, label, rack, name), the view,
// the grouping and the sort are kept in the address so a wall screen can be
// bookmarked on one rack: #/fleet?view=list&rack=rack1&group=site
//
// In the list, nodes can be selected (one by one, a whole group, or every
// node shown) for one power or boot action over all of them: one
// confirmation listing the nodes, then one batch job (POST /power or
// /boot) whose per-node child jobs are followed below the list.
//
// Sources, all public API: GET /fleet (health, power, inlet temperature and
// draw from the poller's memory; cheap, every refresh), GET /nodes (names
// and labels; every 30 s, or when an unknown name shows up) and the newest
// jobs (GET /jobs: what is running now, and the last power state an operator
// action reported, for BMCs the poller cannot read, e.g. without sensors).
//
// Power counts are those of GET /fleet's by_power (the poller's states), as
// `underlay fleet` prints them; a node whose power is only known from its
// last power action is marked so on its tile and row but counted unknown,
// like the CLI does.
import {api, apiAll, enc} from './api.js';
import {h, replace, HEALTH, HEALTH_ORDER, powerText, jobTitle, jobFinished, num, count} from './util.js';
import {bulkPanel} from './bulk.js';

const NODES_EVERY_MS = 30000;
const TILE_MAX = 500;          // more tiles than this are not drawn: the list shows them all
const ROW_REM = 2.3;           // a list row's height (style.css .vrow)
const OVERSCAN = 8;            // rows drawn above and below the visible ones
const collator = new Intl.Collator(undefined, {numeric: true});

const COLS = [
  // key, title, sortable
  ['name', 'Node', true], ['health', 'Health', true], ['power', 'Power', true], ['rack', 'Rack', true],
  ['labels', 'Other labels', false], ['inlet', 'Inlet', true], ['watts', 'Draw', true], ['job', 'Job', true],
];

const SORTERS = {
  name: (a, b) => collator.compare(a.name, b.name),
  health: (a, b) => HEALTH_ORDER.indexOf(a.healthKey) - HEALTH_ORDER.indexOf(b.healthKey),
  power: (a, b) => ['on', 'off', 'unknown'].indexOf(a.power) - ['on', 'off', 'unknown'].indexOf(b.power),
  rack: (a, b) => collator.compare(a.labels.rack ?? '\uFFFF', b.labels.rack ?? '\uFFFF'),
  inlet: (a, b) => (a.inlet ?? -Infinity) - (b.inlet ?? -Infinity),
  watts: (a, b) => (a.watts ?? -Infinity) - (b.watts ?? -Infinity),
  job: (a, b) => (a.job ? 0 : 1) - (b.job ? 0 : 1),
};

export function mount(container, params, app) {
  const q = params.query;
  const filter = {
    label: q.get('label') || '', text: q.get('q') || '', health: q.get('health') || '',
    power: q.get('power') || '', rack: q.get('rack') || '',
  };
  const ui = {
    view: q.get('view') === 'list' ? 'list' : 'tiles', group: q.get('group') || '',
    sort: SORTERS[q.get('sort')] ? q.get('sort') : 'name', dir: q.get('dir') === 'desc' ? -1 : 1,
  };
  let nodes = null, nodesAt = 0, fleet = null, pollingOff = false, jobs = [];
  let lastSig = '', firstList = true;
  let all = [], shown = [], rows = [];
  const selected = new Set();
  const collapsed = new Set();
  let ctl = new AbortController();

  const counts = h('div', {class: 'counts', role: 'group', 'aria-label': 'Nodes by health; press one to show only those'});
  const power = h('p', {class: 'power-summary', id: 'power-summary'});
  const notice = h('p', {class: 'notice', hidden: true});
  const sel = (id, key) => h('select', {id, onchange: (e) => { filter[key] = e.target.value; changed(); }});
  const labelSel = sel('label-filter', 'label');
  const rackSel = sel('rack-filter', 'rack');
  const powerSel = h('select', {id: 'power-filter', onchange: (e) => { filter.power = e.target.value; changed(); }},
    h('option', {value: ''}, 'Any power state'), ['on', 'off', 'unknown'].map((p) => h('option', {value: p}, powerText(p))));
  powerSel.value = filter.power;
  const groupSel = h('select', {id: 'group-by', class: 'list-only', onchange: (e) => { ui.group = e.target.value; collapsed.clear(); changed(); }});
  const search = h('input', {
    id: 'search', type: 'search', autocomplete: 'off', spellcheck: 'false', value: filter.text,
    placeholder: 'part of a name', 'aria-keyshortcuts': '/',
    oninput: (e) => { filter.text = e.target.value; changed(); },
  });
  const showing = h('p', {class: 'muted', id: 'fleet-showing', 'aria-live': 'polite'});
  const tiles = h('ul', {class: 'tiles', id: 'tiles', 'aria-label': 'Nodes'});
  const tilesNote = h('p', {class: 'notice', id: 'tiles-capped', hidden: true});
  const viewBtn = (v, text) => h('button', {type: 'button', id: `view-${v}`, 'aria-pressed': String(ui.view === v),
    onclick: () => { ui.view = v; changed(); }}, text);
  const viewTiles = viewBtn('tiles', 'Tiles'), viewList = viewBtn('list', 'List');

  // ---- the list ----
  const head = h('div', {class: 'vrow vhead', role: 'row'});
  const spacer = h('div', {class: 'vspacer'});
  const win = h('div', {class: 'vwin', role: 'rowgroup'});
  const scroller = h('div', {class: 'vscroll', id: 'node-list-rows', tabindex: '0', 'aria-label': 'Node rows (scroll)'}, spacer, win);
  const list = h('div', {class: 'vlist', id: 'node-list', role: 'table', 'aria-label': 'Nodes'},
    h('div', {role: 'rowgroup', class: 'vheadgroup'}, head), scroller);
  let paintQueued = false;
  scroller.addEventListener('scroll', () => {
    if (paintQueued) return;
    paintQueued = true;
    requestAnimationFrame(() => { paintQueued = false; paint(); });
  });

  // ---- selection and bulk actions ----
  const selCount = h('span', {id: 'selection-count', 'aria-live': 'polite'});
  const selectShown = h('button', {type: 'button', id: 'select-shown', onclick: () => {
    for (const r of shown) selected.add(r.name);
    selChanged();
  }}, 'Select all shown');
  const clearSel = h('button', {type: 'button', id: 'select-none', onclick: () => { selected.clear(); selChanged(); }}, 'Clear selection');
  const bulk = bulkPanel(app, () => [...selected].sort(collator.compare), () => app.refresh());
  const bulkBar = h('div', {class: 'bulk-bar', role: 'group', 'aria-label': 'Selection'},
    selCount, selectShown, clearSel, bulk.controls);

  const listPart = h('div', {class: 'list-part'}, bulkBar, list, bulk.box);

  container.append(
    h('h1', {}, 'Fleet'),
    notice,
    h('section', {class: 'summary', 'aria-label': 'Fleet summary'}, counts, power),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('span', {class: 'view-switch', role: 'group', 'aria-label': 'View'}, viewTiles, viewList),
      h('label', {for: 'power-filter'}, 'Power'), powerSel,
      h('label', {for: 'rack-filter'}, 'Rack'), rackSel,
      h('label', {for: 'label-filter'}, 'Label'), labelSel,
      h('label', {for: 'search'}, 'Search by name'), search,
      h('label', {for: 'group-by', class: 'list-only'}, 'Group by'), groupSel,
      h('button', {type: 'button', onclick: () => {
        Object.assign(filter, {label: '', text: '', health: '', power: '', rack: ''});
        search.value = '';
        powerSel.value = '';
        changed();
      }}, 'Clear filters')),
    showing, tilesNote, tiles, listPart);

  // Filters live in the hash (replaceState: no hashchange, no remount).
  function changed() {
    const p = new URLSearchParams();
    if (ui.view === 'list') p.set('view', 'list');
    for (const k of ['label', 'rack', 'power', 'health']) if (filter[k]) p.set(k, filter[k]);
    if (filter.text) p.set('q', filter.text);
    if (ui.group) p.set('group', ui.group);
    if (ui.sort !== 'name') p.set('sort', ui.sort);
    if (ui.dir < 0) p.set('dir', 'desc');
    const s = p.toString();
    history.replaceState(null, '', `#/fleet${s ? `?${s}` : ''}`);
    draw();
  }

  function selChanged() {
    selCount.textContent = selected.size ? `${count(selected.size, 'node')} selected` : 'No node selected';
    clearSel.disabled = !selected.size;
    selectShown.textContent = `Select all ${shown.length} shown`;
    bulk.setCount(selected.size);
    paint();
  }

  async function refresh() {
    ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    const [f, j] = await Promise.all([
      api('GET', '/fleet', {signal}).catch((e) => {
        // 404 here means background polling is off, not a missing page.
        if (e.status === 404) return null;
        throw e;
      }),
      api('GET', '/jobs?limit=100', {signal}),
    ]);
    fleet = f;
    pollingOff = f === null;
    jobs = j.items;
    let unknown = false;
    if (f && nodes) {
      const known = new Set(nodes.map((n) => n.name));
      unknown = f.nodes.some((n) => !known.has(n.node));
    }
    if (!nodes || Date.now() - nodesAt > NODES_EVERY_MS || unknown) {
      nodes = await apiAll('/nodes', {signal});
      nodesAt = Date.now();
    }
    draw();
  }

  // One record per node: the poller's view, plus what jobs tell.
  function merged() {
    const byName = new Map();
    for (const n of nodes || []) {
      byName.set(n.name, {name: n.name, labels: n.labels || {}, health: 'unknown', healthKey: 'unknown', power: 'unknown'});
    }
    for (const fn of fleet ? fleet.nodes : []) {
      const r = byName.get(fn.node);
      if (r) {
        Object.assign(r, {health: fn.health, power: fn.power, inlet: fn.inlet_celsius, watts: fn.power_watts, polled: true});
        r.healthKey = HEALTH[fn.health] ? fn.health : 'unknown';
      }
    }
    // Jobs are newest first: the first one seen per node is the latest.
    for (const j of jobs) {
      const r = byName.get(j.node);
      if (!r) continue;
      if (!jobFinished(j) && !r.job) r.job = j;
      if (j.type === 'power' && j.state === 'succeeded' && j.result && !r.jobPower) r.jobPower = j.result.power;
    }
    for (const r of byName.values()) {
      // The poller's reading wins; a node it cannot read shows what the last
      // power action reported, marked as such (and counted unknown).
      if (r.power === 'unknown' && (r.jobPower === 'on' || r.jobPower === 'off')) {
        r.shownPower = r.jobPower;
        r.powerFromJob = true;
      } else {
        r.shownPower = r.power;
      }
    }
    return [...byName.values()].sort(SORTERS.name);
  }

  function matches(r, text) {
    return (!filter.health || r.healthKey === filter.health) &&
      (!filter.power || r.power === filter.power) &&
      (!filter.rack || (filter.rack === '(none)' ? r.labels.rack === undefined : r.labels.rack === filter.rack)) &&
      (!filter.label || hasLabel(r.labels, filter.label)) &&
      (!text || r.name.toLowerCase().includes(text));
  }

  function menus() {
    // The label menu: every key=value in the fleet; racks; label keys to group by.
    const kv = new Set(), racks = new Set(), keys = new Set();
    let noRack = false;
    for (const r of all) {
      for (const [k, v] of Object.entries(r.labels)) { kv.add(`${k}=${v}`); keys.add(k); }
      if (r.labels.rack !== undefined) racks.add(r.labels.rack); else noRack = true;
    }
    const fill = (el, first, values, cur) => {
      const vals = [...values].sort(collator.compare);
      if (cur && !vals.includes(cur)) vals.unshift(cur);
      const sig = vals.join('\n');
      if (el.dataset.sig !== sig) {
        replace(el, h('option', {value: ''}, first), vals.map((v) => h('option', {value: v}, v)));
        el.dataset.sig = sig;
      }
      el.value = cur;
    };
    fill(labelSel, 'All labels', kv, filter.label);
    fill(rackSel, 'All racks', noRack ? [...racks, '(none)'] : racks, filter.rack);
    fill(groupSel, 'No grouping', keys, ui.group);
  }

  function draw() {
    if (!nodes) return;
    all = merged();
    notice.hidden = !pollingOff;
    notice.textContent = pollingOff
      ? 'Background polling is off in underlayd ([poll] enabled = 0): health, power and readings are not collected. Nodes are listed with what their last actions reported.'
      : '';
    menus();

    const text = filter.text.trim().toLowerCase();
    shown = all.filter((r) => matches(r, text));
    // Names no longer in the fleet cannot stay selected.
    if (selected.size) {
      const names = new Set(all.map((r) => r.name));
      for (const n of [...selected]) if (!names.has(n)) selected.delete(n);
    }

    // Counts by health over the whole fleet (each is also a filter); power
    // as GET /fleet counts it (the CLI's `underlay fleet`), over what is shown.
    const byHealth = Object.fromEntries(HEALTH_ORDER.map((k) => [k, 0]));
    for (const r of all) byHealth[r.healthKey]++;
    const filtered = shown.length !== all.length;
    const byPower = {on: 0, off: 0, unknown: 0};
    let watts = 0, reporting = 0, running = 0;
    if (fleet && !filtered) {
      Object.assign(byPower, fleet.by_power);
      watts = fleet.total_power_watts;
      reporting = fleet.nodes_reporting_power;
    } else if (fleet) {
      for (const r of shown) {
        if (!r.polled) continue;
        if (Object.hasOwn(byPower, r.power)) byPower[r.power]++;
        if (typeof r.watts === 'number') { watts += r.watts; reporting++; }
      }
    }
    for (const r of shown) if (r.job) running++;
    replace(counts,
      h('button', {type: 'button', class: 'count all', 'aria-pressed': String(!filter.health), dataset: {key: 'count-all'},
        onclick: () => { filter.health = ''; changed(); }},
      h('span', {class: 'n'}, String(all.length)), h('span', {class: 'what'}, 'All nodes')),
      HEALTH_ORDER.map((k) => h('button', {
        type: 'button', class: `count health-${k}`, 'aria-pressed': String(filter.health === k),
        dataset: {key: `count-${k}`}, title: HEALTH[k].help,
        onclick: () => { filter.health = filter.health === k ? '' : k; changed(); },
      }, h('span', {class: 'n'}, String(byHealth[k])),
      h('span', {class: 'what'}, h('span', {'aria-hidden': 'true', class: 'glyph'}, HEALTH[k].glyph), ' ', HEALTH[k].text))));
    power.textContent = fleet
      ? `Power${filtered ? ' (of the nodes shown)' : ''}, as polled: ${byPower.on} on, ${byPower.off} off, ${byPower.unknown} unknown. ` +
        `Draw: ${reporting ? `${watts >= 10000 ? `${num(watts / 1000, 1)} kW` : `${num(watts, 0)} W`} from ${count(reporting, 'node')}` : 'not reported'}. ` +
        `${running ? `${count(running, 'node')} with a job under way.` : ''}`
      : `Power: not polled. ${running ? `${count(running, 'node')} with a job under way.` : ''}`;

    const showingText = !filtered ? `Showing all ${all.length} nodes.` : `Showing ${shown.length} of ${all.length} nodes.`;
    if (showing.textContent !== showingText) showing.textContent = showingText;

    viewTiles.setAttribute('aria-pressed', String(ui.view === 'tiles'));
    viewList.setAttribute('aria-pressed', String(ui.view === 'list'));
    container.classList.toggle('fleet-list', ui.view === 'list');
    tiles.hidden = ui.view !== 'tiles';
    listPart.hidden = ui.view !== 'list';
    if (ui.view === 'tiles') {
      lastSig = drawTiles(lastSig);
    } else {
      lastSig = '';
      replace(tiles);
      tilesNote.hidden = true;
      buildRows();
      drawHead();
      paint();
      selChanged();
      if (firstList && rows.length) {
        firstList = false;
        performance.mark('underlay:list-first-render');
      }
    }
  }

  function drawTiles(prev) {
    const capped = shown.length > TILE_MAX;
    tilesNote.hidden = !capped;
    tilesNote.textContent = capped
      ? `Showing the first ${TILE_MAX} of ${shown.length} tiles: narrow the filters, or use the List view for all of them.` : '';
    const part = capped ? shown.slice(0, TILE_MAX) : shown;
    // Rebuild the tiles only when something on them changed.
    const sig = JSON.stringify(part.map((r) => [r.name, r.health, r.shownPower, r.powerFromJob, r.inlet, r.watts,
      r.job && [r.job.id, r.job.state, r.job.progress]]));
    if (sig !== prev) replace(tiles, part.map(tile));
    return sig;
  }

  // The rows of the list: the nodes shown, sorted, with a header row before
  // each group when grouping by a label.
  function buildRows() {
    const cmp = SORTERS[ui.sort];
    const sorted = shown.slice().sort((a, b) => (cmp(a, b) * ui.dir) || SORTERS.name(a, b));
    if (!ui.group) {
      rows = sorted;
      return;
    }
    const groups = new Map();
    for (const r of sorted) {
      const v = r.labels[ui.group] ?? '';
      if (!groups.has(v)) groups.set(v, []);
      groups.get(v).push(r);
    }
    rows = [];
    const keys = [...groups.keys()].sort((a, b) => (a === '') - (b === '') || collator.compare(a, b));
    for (const v of keys) {
      const members = groups.get(v);
      rows.push({group: v, members});
      if (!collapsed.has(v)) rows.push(...members);
    }
  }

  function drawHead() {
    const sig = `${ui.sort}|${ui.dir}`;
    if (head.dataset.sig === sig) return;
    head.dataset.sig = sig;
    replace(head,
      h('span', {role: 'columnheader', class: 'c-sel'}, h('span', {class: 'sr-only'}, 'Selected')),
      COLS.map(([k, t, sortable]) => h('span', {
        role: 'columnheader', class: `c-${k}`,
        'aria-sort': ui.sort === k ? (ui.dir > 0 ? 'ascending' : 'descending') : null,
      }, sortable ? h('button', {type: 'button', class: 'sort', dataset: {key: `sort-${k}`, sort: k},
        onclick: () => {
          if (ui.sort === k) ui.dir = -ui.dir; else { ui.sort = k; ui.dir = 1; }
          changed();
        }}, t, h('span', {'aria-hidden': 'true'}, ui.sort === k ? (ui.dir > 0 ? ' \u25B2' : ' \u25BC') : '')) : t)));
  }

  // Draw the rows in sight (and a few around them) into the window.
  function paint() {
    if (ui.view !== 'list') return;
    const rowH = ROW_REM * parseFloat(getComputedStyle(document.documentElement).fontSize);
    spacer.style.height = `${rows.length * rowH}px`;
    list.setAttribute('aria-rowcount', String(rows.length + 1));
    const top = scroller.scrollTop, height = scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / rowH) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + height) / rowH) + OVERSCAN);
    win.style.transform = `translateY(${first * rowH}px)`;
    const out = [];
    for (let i = first; i < last; i++) out.push(rows[i].group !== undefined ? groupRow(rows[i], i, rowH) : nodeRow(rows[i], i, rowH));
    replace(win, out);
  }

  function groupRow(g, i, rowH) {
    const v = g.group;
    const all = g.members.every((r) => selected.has(r.name));
    const label = `${ui.group}=${v || '(none)'}`;
    return sized(rowH, h('div', {class: 'vrow vgroup', role: 'row', 'aria-rowindex': String(i + 2), dataset: {group: v}},
      h('span', {role: 'cell', class: 'c-sel'}, h('input', {type: 'checkbox', checked: all, 'aria-label': `Select every node of ${label}`,
        dataset: {key: `gsel-${v}`}, onchange: (e) => {
          for (const r of g.members) if (e.target.checked) selected.add(r.name); else selected.delete(r.name);
          selChanged();
        }})),
      h('span', {role: 'cell', class: 'c-group'},
        h('button', {type: 'button', class: 'group-toggle', 'aria-expanded': String(!collapsed.has(v)), dataset: {key: `gtog-${v}`},
          onclick: () => { if (collapsed.has(v)) collapsed.delete(v); else collapsed.add(v); draw(); }},
        h('span', {'aria-hidden': 'true'}, collapsed.has(v) ? '\u25B6 ' : '\u25BC '), label),
        ' ', h('span', {class: 'muted'}, groupSummary(g.members)))));
  }

  function nodeRow(r, i, rowH) {
    const hh = HEALTH[r.healthKey];
    return sized(rowH, h('div', {class: `vrow node-row health-${r.healthKey}`, role: 'row', 'aria-rowindex': String(i + 2),
      dataset: {node: r.name}},
    h('span', {role: 'cell', class: 'c-sel'}, h('input', {type: 'checkbox', checked: selected.has(r.name),
      'aria-label': `Select ${r.name}`, dataset: {key: `sel-${r.name}`},
      onchange: (e) => { if (e.target.checked) selected.add(r.name); else selected.delete(r.name); selChanged(); }})),
    h('span', {role: 'cell', class: 'c-name'}, h('a', {href: `#/node/${enc(r.name)}`, dataset: {key: `row-${r.name}`}}, r.name)),
    h('span', {role: 'cell', class: `c-health health-text-${r.healthKey}`, title: hh.help},
      h('span', {'aria-hidden': 'true', class: 'glyph'}, hh.glyph), ' ', hh.text),
    h('span', {role: 'cell', class: 'c-power', title: r.powerFromJob ? 'as the last power action on this node reported' : 'as last polled'},
      h('span', {'aria-hidden': 'true', class: `power-dot ${r.shownPower}`}), ` ${powerText(r.shownPower)}`,
      r.powerFromJob ? h('span', {class: 'muted'}, ' (last action)') : null),
    h('span', {role: 'cell', class: 'c-rack'}, r.labels.rack ?? '\u2014'),
    h('span', {role: 'cell', class: 'c-labels'}, Object.entries(r.labels).filter(([k]) => k !== 'rack').map(([k, v]) => `${k}=${v}`).join(' ')),
    h('span', {role: 'cell', class: 'c-inlet num'}, typeof r.inlet === 'number' ? `${num(r.inlet, 1)}\u00A0\u00B0C` : '\u2014'),
    h('span', {role: 'cell', class: 'c-watts num'}, typeof r.watts === 'number' ? `${num(r.watts, 0)}\u00A0W` : '\u2014'),
    h('span', {role: 'cell', class: 'c-job'}, r.job
      ? `${jobTitle(r.job)}: ${r.job.state === 'queued' ? 'queued' : `${r.job.progress || 0}%`}` : '')));
  }

  return {refresh, unmount: () => { ctl.abort(); bulk.stop(); container.classList.remove('fleet-list'); }};
}

// A row's height in pixels, set through the CSSOM (the daemon's CSP allows
// no inline style attributes), so that row i is exactly at i * rowH.
function sized(px, el) {
  el.style.height = `${px}px`;
  return el;
}

// "12 nodes: 10 OK, 2 unreachable; 11 on"
function groupSummary(members) {
  const byH = {}, byP = {on: 0, off: 0, unknown: 0};
  for (const r of members) {
    byH[r.healthKey] = (byH[r.healthKey] || 0) + 1;
    byP[r.power]++;
  }
  const hs = HEALTH_ORDER.filter((k) => byH[k]).map((k) => `${byH[k]} ${HEALTH[k].text.toLowerCase()}`).join(', ');
  return `${count(members.length, 'node')}: ${hs}; power ${byP.on} on, ${byP.off} off, ${byP.unknown} unknown`;
}

// "key=value": the value may itself hold '='.
function hasLabel(labels, kv) {
  const i = kv.indexOf('=');
  return i > 0 && Object.hasOwn(labels, kv.slice(0, i)) && labels[kv.slice(0, i)] === kv.slice(i + 1);
}

function tile(r) {
  const hh = HEALTH[r.healthKey];
  return h('li', {class: `tile health-${r.healthKey} power-${r.shownPower}`, dataset: {node: r.name}},
    h('a', {href: `#/node/${enc(r.name)}`, dataset: {key: `tile-${r.name}`}},
      h('span', {class: 'tile-name'}, r.name),
      h('span', {class: 'tile-health', title: hh.help},
        h('span', {'aria-hidden': 'true', class: 'glyph'}, hh.glyph), ' ', hh.text),
      h('span', {class: 'tile-power', title: r.powerFromJob ? 'as the last power action on this node reported' : 'as last polled'},
        h('span', {'aria-hidden': 'true', class: `power-dot ${r.shownPower}`}), ` Power ${powerText(r.shownPower).toLowerCase()}`,
        r.powerFromJob ? h('span', {class: 'muted'}, ' (last action)') : null),
      h('span', {class: 'tile-metrics'},
        h('span', {}, 'Inlet ', typeof r.inlet === 'number' ? `${num(r.inlet, 1)}\u00A0\u00B0C` : 'n/a'),
        h('span', {}, 'Draw ', typeof r.watts === 'number' ? `${num(r.watts, 0)}\u00A0W` : 'n/a')),
      r.job ? h('span', {class: 'tile-job'}, h('span', {'aria-hidden': 'true'}, '\u25B6 '),
        `${jobTitle(r.job)}: ${r.job.state === 'queued' ? 'queued' : `${r.job.progress || 0}%`}`) : null));
}
