// fleet.js - every node as a tile coloured by health (#/fleet), with counts
// by state, a label filter and a name search kept in the URL so a wall
// screen can be bookmarked on one rack: #/fleet?label=rack%3Drack1&q=n0
//
// Sources, all public API: GET /fleet (health, power, inlet temperature and
// draw from the poller's memory; cheap, every refresh), GET /nodes (names
// and labels; every 30 s, or when an unknown name shows up) and the newest
// jobs (GET /jobs: what is running now, and the last power state an operator
// action reported, for BMCs the poller cannot read, e.g. without sensors).
import {api, apiAll, enc} from './api.js';
import {h, replace, HEALTH, HEALTH_ORDER, powerText, jobTitle, jobFinished, num} from './util.js';

const NODES_EVERY_MS = 30000;

export function mount(container, params, app) {
  const q = params.query;
  const filter = {label: q.get('label') || '', text: q.get('q') || '', health: q.get('health') || ''};
  let nodes = null, nodesAt = 0, fleet = null, pollingOff = false, jobs = [];
  let lastSig = '';
  let ctl = new AbortController();

  const counts = h('div', {class: 'counts', role: 'group', 'aria-label': 'Nodes by health; press one to show only those'});
  const power = h('p', {class: 'power-summary'});
  const notice = h('p', {class: 'notice', hidden: true});
  const labelSel = h('select', {id: 'label-filter', onchange: (e) => { filter.label = e.target.value; changed(); }});
  const search = h('input', {
    id: 'search', type: 'search', autocomplete: 'off', spellcheck: 'false', value: filter.text,
    placeholder: 'part of a name', 'aria-keyshortcuts': '/',
    oninput: (e) => { filter.text = e.target.value; changed(); },
  });
  const showing = h('p', {class: 'muted', id: 'fleet-showing', 'aria-live': 'polite'});
  const tiles = h('ul', {class: 'tiles', id: 'tiles', 'aria-label': 'Nodes'});

  container.append(
    h('h1', {}, 'Fleet'),
    notice,
    h('section', {class: 'summary', 'aria-label': 'Fleet summary'}, counts, power),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'label-filter'}, 'Label'), labelSel,
      h('label', {for: 'search'}, 'Search by name'), search,
      h('button', {type: 'button', onclick: () => {
        Object.assign(filter, {label: '', text: '', health: ''});
        search.value = '';
        changed();
      }}, 'Clear filters')),
    showing, tiles);

  // Filters live in the hash (replaceState: no hashchange, no remount).
  function changed() {
    const p = new URLSearchParams();
    if (filter.label) p.set('label', filter.label);
    if (filter.text) p.set('q', filter.text);
    if (filter.health) p.set('health', filter.health);
    const s = p.toString();
    history.replaceState(null, '', `#/fleet${s ? `?${s}` : ''}`);
    draw();
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
    const known = new Set((nodes || []).map((n) => n.name));
    if (!nodes || Date.now() - nodesAt > NODES_EVERY_MS || (f && f.nodes.some((n) => !known.has(n.node)))) {
      nodes = await apiAll('/nodes', {signal});
      nodesAt = Date.now();
    }
    draw();
  }

  // One record per node: the poller's view, plus what jobs tell.
  function merged() {
    const byName = new Map();
    for (const n of nodes || []) byName.set(n.name, {name: n.name, labels: n.labels || {}, health: 'unknown', power: 'unknown'});
    for (const fn of fleet ? fleet.nodes : []) {
      const r = byName.get(fn.node);
      if (r) Object.assign(r, {health: fn.health, power: fn.power, inlet: fn.inlet_celsius, watts: fn.power_watts});
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
      // power action reported, marked as such.
      if (r.power === 'unknown' && (r.jobPower === 'on' || r.jobPower === 'off')) {
        r.power = r.jobPower;
        r.powerFromJob = true;
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, {numeric: true}));
  }

  function draw() {
    if (!nodes) return;
    const all = merged();
    notice.hidden = !pollingOff;
    notice.textContent = pollingOff
      ? 'Background polling is off in underlayd ([poll] enabled = 0): health, power and readings are not collected. Nodes are listed with what their last actions reported.'
      : '';

    // Counts over the whole fleet; each is also a filter.
    const byHealth = Object.fromEntries(HEALTH_ORDER.map((k) => [k, 0]));
    const byPower = {on: 0, off: 0, unknown: 0};
    let watts = 0, reporting = 0, running = 0;
    for (const r of all) {
      byHealth[HEALTH[r.health] ? r.health : 'unknown']++;
      byPower[r.power]++;
      if (typeof r.watts === 'number') { watts += r.watts; reporting++; }
      if (r.job) running++;
    }
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
    power.textContent = `Power: ${byPower.on} on, ${byPower.off} off, ${byPower.unknown} unknown. ` +
      `Draw: ${reporting ? `${watts >= 10000 ? `${num(watts / 1000, 1)} kW` : `${num(watts, 0)} W`} from ${reporting} node${reporting === 1 ? '' : 's'}` : 'not reported'}. ` +
      `${running ? `${running} node${running === 1 ? '' : 's'} with a job under way.` : ''}`;

    // The label menu: every key=value in the fleet.
    const labels = [...new Set(all.flatMap((r) => Object.entries(r.labels).map(([k, v]) => `${k}=${v}`)))].sort();
    if (filter.label && !labels.includes(filter.label)) labels.unshift(filter.label);
    const sig = labels.join('\n');
    if (labelSel.dataset.sig !== sig) {
      replace(labelSel, h('option', {value: ''}, 'All labels'), labels.map((l) => h('option', {value: l}, l)));
      labelSel.dataset.sig = sig;
    }
    labelSel.value = filter.label;

    const text = filter.text.trim().toLowerCase();
    const shown = all.filter((r) =>
      (!filter.health || r.health === filter.health ||
        (filter.health === 'unknown' && !HEALTH[r.health])) &&
      (!filter.label || hasLabel(r.labels, filter.label)) &&
      (!text || r.name.toLowerCase().includes(text)));
    const showingText = shown.length === all.length ? `Showing all ${all.length} nodes.` : `Showing ${shown.length} of ${all.length} nodes.`;
    if (showing.textContent !== showingText) showing.textContent = showingText;

    // Rebuild the tiles only when something on them changed.
    const tileSig = JSON.stringify(shown.map((r) => [r.name, r.health, r.power, r.powerFromJob, r.inlet, r.watts,
      r.job && [r.job.id, r.job.state, r.job.progress]]));
    if (tileSig === lastSig) return;
    lastSig = tileSig;
    replace(tiles, shown.map(tile));
  }

  return {refresh, unmount: () => ctl.abort()};
}

// "key=value": the value may itself hold '='.
function hasLabel(labels, kv) {
  const i = kv.indexOf('=');
  return i > 0 && Object.hasOwn(labels, kv.slice(0, i)) && labels[kv.slice(0, i)] === kv.slice(i + 1);
}

function tile(r) {
  const hh = HEALTH[r.health] || HEALTH.unknown;
  const cls = HEALTH[r.health] ? r.health : 'unknown';
  return h('li', {class: `tile health-${cls} power-${r.power}`, dataset: {node: r.name}},
    h('a', {href: `#/node/${enc(r.name)}`, dataset: {key: `tile-${r.name}`}},
      h('span', {class: 'tile-name'}, r.name),
      h('span', {class: 'tile-health', title: hh.help},
        h('span', {'aria-hidden': 'true', class: 'glyph'}, hh.glyph), ' ', hh.text),
      h('span', {class: 'tile-power', title: r.powerFromJob ? 'as the last power action on this node reported' : 'as last polled'},
        h('span', {'aria-hidden': 'true', class: `power-dot ${r.power}`}), ` Power ${powerText(r.power).toLowerCase()}`,
        r.powerFromJob ? h('span', {class: 'muted'}, ' (last action)') : null),
      h('span', {class: 'tile-metrics'},
        h('span', {}, 'Inlet ', typeof r.inlet === 'number' ? `${num(r.inlet, 1)}\u00A0\u00B0C` : 'n/a'),
        h('span', {}, 'Draw ', typeof r.watts === 'number' ? `${num(r.watts, 0)}\u00A0W` : 'n/a')),
      r.job ? h('span', {class: 'tile-job'}, h('span', {'aria-hidden': 'true'}, '\u25B6 '),
        `${jobTitle(r.job)}: ${r.job.state === 'queued' ? 'queued' : `${r.job.progress || 0}%`}`) : null));
}
