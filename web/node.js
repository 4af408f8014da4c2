// node.js - one node (#/node/NAME): health and power, power and boot
// actions behind a confirmation with the job's progress, the latest sensor
// readings with their thresholds, history graphs, the event log, inventory,
// configuration (config.js: firmware, BIOS, RAID) and the node's recent jobs.
// Controls for what the node's driver cannot do (its `capabilities`) are
// hidden, with a line saying why.
import {api, enc} from './api.js';
import {jobRunner, jobsTable, errorP} from './jobs.js';
import {configSection} from './config.js';
import {consoleSection} from './console.js';
import {
  h, replace, section, healthBadge, statusBadge, powerText, deviceText, reading, num, timeEl, timeText, shortTime, clockText,
} from './util.js';

const SLOW_EVERY_MS = 60000; // graphs, history list, inventory: they change once a minute at most
const KINDS = ['temperature', 'fan', 'voltage', 'current', 'power', 'other'];
const KIND_TEXT = {
  temperature: 'Temperature', fan: 'Fans', voltage: 'Voltage', current: 'Current', power: 'Power',
  discrete: 'Discrete (states)', other: 'Other',
};
const RANGES = [['1h', '1 hour'], ['6h', '6 hours'], ['1d', '1 day'], ['1w', '1 week'], ['1m', '1 month']];
const RANGE_S = {'1h': 3600, '6h': 6 * 3600, '1d': 86400, '1w': 7 * 86400, '1m': 31 * 86400};
// The server graph's palette and units (collectors/rrd.c), so both drawings agree.
const PALETTE = ['#79c0ff', '#ffa657', '#7ee787', '#ff7b72', '#d2a8ff', '#f2cc60', '#56d4dd', '#ff9bce', '#a5d6ff', '#bdbdbd', '#3fb950', '#db61a2'];
const UNIT = {temperature: '\u00B0C', fan: 'RPM', voltage: 'V', current: 'A', power: 'W'};
const ZOOM_MAX_LINES = 12;

// What each power action does to the machine, for the confirmation.
const POWER = {
  on: {label: 'Power on', text: 'The host starts.'},
  off: {label: 'Power off', title: 'Hard power off', text: 'The host loses power at once, like pulling the plug: the operating system does not shut down and unsaved work is lost.'},
  soft: {label: 'Soft off', title: 'Soft power off', text: 'The BMC asks the operating system to shut down cleanly. It can take minutes, and an OS that ignores the request stays on.'},
  cycle: {label: 'Power cycle', text: 'The host loses power and starts again: everything running on it stops at once.'},
  reset: {label: 'Reset', title: 'Hard reset', text: 'The host restarts at once without shutting down. BMCs refuse it while the host is off.'},
};

// What the node's driver cannot do (the node's `capabilities`) is hidden,
// with a calm line in its place: underlayd would refuse it at once (501).
// A node without the list (an older underlayd) keeps every control.
function capGate(cap, what, ...els) {
  const note = h('p', {class: 'muted cap-note', hidden: true, dataset: {cap}});
  return {
    note,
    apply(node) {
      const yes = !Array.isArray(node.capabilities) || node.capabilities.includes(cap);
      for (const e of els) e.hidden = !yes;
      note.hidden = yes;
      if (!yes) note.textContent = `${what}: not supported by this BMC (the ${node.driver} driver has no \u2018${cap}\u2019 capability).`;
    },
  };
}

export function mount(container, {name}, app) {
  const base = `/nodes/${enc(name)}`;
  let ctl = new AbortController();
  let slowAt = 0;
  const graph = {kind: 'temperature', sensor: '', range: '1h', url: '', history: null, zoom: null};

  // ---- layout -------------------------------------------------------------------
  const summary = h('div', {class: 'node-summary'});
  const facts = h('div', {});
  const jobBox = h('div', {class: 'job-box', role: 'status', 'aria-live': 'polite', id: 'job-box'});
  const sensorsBox = h('div', {class: 'table-wrap'});
  const sensorsMeta = h('p', {class: 'muted'});
  const graphSel = h('select', {id: 'graph-sensor', onchange: (e) => {
    [graph.kind, graph.sensor] = splitChoice(e.target.value);
    loadGraph();
  }});
  let graphControls; // set below: hidden until the node has history
  const graphImg = h('img', {id: 'graph', alt: 'No graph loaded yet', hidden: true});
  const graphNote = h('p', {class: 'muted', id: 'graph-note'});
  const zoomBox = h('div', {class: 'graph-zoom', id: 'graph-zoom', hidden: true});
  const zoomReset = h('button', {type: 'button', class: 'small', id: 'graph-zoom-reset', hidden: true,
    onclick: () => { graph.zoom = null; loadGraph(); }}, 'Reset zoom');
  const zoomNote = h('p', {class: 'muted', id: 'graph-zoom-note'});
  const eventsBox = h('div', {class: 'table-wrap'});
  const invBox = h('div', {});
  const jobsBox = h('div', {class: 'table-wrap'});
  // Power, boot and reads share one job panel; a finished job refreshes the
  // node's data (reads of the slow parts at once).
  const runner = jobRunner(jobBox, {onDone: (j) => {
    if (j.type === 'inventory' || j.type === 'sel') slowAt = 0;
    app.refresh();
  }});
  const config = configSection(name, app);
  const cons = consoleSection(name);

  const powerButtons = Object.entries(POWER).map(([action, p]) =>
    h('button', {type: 'button', class: action === 'on' ? '' : 'danger', dataset: {action, key: `power-${action}`},
      onclick: () => powerAction(action)}, `${p.label}\u2026`));
  const bootDevice = h('select', {id: 'boot-device'},
    ['pxe', 'disk', 'cdrom', 'bios', 'none'].map((d) => h('option', {value: d}, deviceText(d))));
  const bootPersistent = h('input', {type: 'checkbox', id: 'boot-persistent'});
  // Controls for what the node's driver may lack; see setCapabilities.
  const powerSet = h('fieldset', {class: 'actions'}, h('legend', {}, 'Power'), powerButtons,
    h('button', {type: 'button', dataset: {key: 'power-status'}, onclick: () => run('/power', {action: 'status'})}, 'Read power state'));
  const bootSet = h('fieldset', {class: 'actions'}, h('legend', {}, 'Boot device'),
    h('label', {for: 'boot-device'}, 'Boot from'), bootDevice,
    h('span', {class: 'check'}, bootPersistent, h('label', {for: 'boot-persistent'}, 'Every boot (persistent)')),
    h('button', {type: 'button', class: 'danger', dataset: {key: 'boot-set'}, onclick: bootAction}, 'Set boot device\u2026'),
    h('button', {type: 'button', dataset: {key: 'boot-read'}, onclick: () => run('/boot', {})}, 'Read boot device'));
  const sensorsRead = h('p', {}, h('button', {type: 'button', dataset: {key: 'sensors-read'}, onclick: () => run('/sensors', {})}, 'Read sensors now'));
  const selRead = h('p', {}, h('button', {type: 'button', dataset: {key: 'sel-read'}, onclick: () => run('/sel', {})}, 'Collect event log now'));
  const invRead = h('p', {}, h('button', {type: 'button', dataset: {key: 'inv-read'}, onclick: () => run('/inventory', {})}, 'Read inventory now'));
  const gates = [
    capGate('power', 'Power control', powerSet),
    capGate('boot', 'Boot device', bootSet),
    capGate('sensors', 'Reading sensors', sensorsRead),
    capGate('events', 'Reading the event log', selRead),
    capGate('inventory', 'Reading the inventory', invRead),
  ];
  const [powerGate, bootGate, sensorsGate, selGate, invGate] = gates;

  container.append(
    h('p', {class: 'crumbs'}, h('a', {href: '#/fleet'}, '\u2190 Fleet'), ' \u00B7 ',
      h('a', {href: `#/edit/${enc(name)}`, id: 'node-edit'}, 'Edit endpoint, credentials and labels')),
    h('h1', {}, name),
    summary,
    h('div', {class: 'node-grid'},
      section('actions', 'Actions', powerSet, powerGate.note, bootSet, bootGate.note, jobBox),
      section('health', 'Health and details', facts),
      section('graphs', 'History',
        graphControls = h('div', {class: 'graph-controls', hidden: true},
          h('label', {for: 'graph-sensor'}, 'Sensors'), graphSel,
          h('fieldset', {class: 'range'}, h('legend', {}, 'Period'),
            RANGES.map(([r, text]) => h('span', {class: 'radio'},
              h('input', {type: 'radio', name: 'graph-range', id: `range-${r}`, value: r, checked: r === graph.range,
                onchange: () => { graph.range = r; graph.zoom = null; loadGraph(); }}),
              h('label', {for: `range-${r}`}, text)))), zoomReset),
        h('figure', {class: 'graph'}, graphImg, h('figcaption', {}, graphNote)),
        h('figure', {class: 'graph'}, zoomBox, h('figcaption', {}, zoomNote)), {wide: true}),
      section('sensors', 'Sensors', sensorsMeta, sensorsBox, sensorsRead, sensorsGate.note, {wide: true}),
      section('events', 'Event log', eventsBox, selRead, selGate.note),
      section('inventory', 'Inventory', invBox, invRead, invGate.note),
      config.el,
      cons.el,
      section('node-jobs', 'Recent jobs on this node', jobsBox, {wide: true})));

  // ---- actions ---------------------------------------------------------------------

  async function powerAction(action) {
    const p = POWER[action];
    const ok = await app.confirm({title: `${p.title || p.label} ${name}?`, text: p.text, ok: p.label});
    if (ok) run('/power', {action});
  }

  async function bootAction() {
    const d = bootDevice.value, persistent = bootPersistent.checked;
    const ok = await app.confirm({
      title: `Boot ${name} from ${deviceText(d)}?`,
      text: `${persistent ? 'On every boot from now on' : 'On the next boot only'}. Nothing restarts now: it takes effect at the next power on, cycle or reset.`,
      ok: 'Set boot device',
    });
    if (ok) run('/boot', {device: d, persistent});
  }

  // POST an operation, then follow its job to the end and refresh.
  function run(path, body) {
    return runner.run('POST', base + path, body);
  }

  // ---- data --------------------------------------------------------------------------

  async function refresh() {
    ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    const opt = {signal};
    const quiet = (p) => p.catch((e) => (e.name === 'AbortError' || e.status === 401 ? Promise.reject(e) : {error: e}));
    let node;
    try {
      node = await api('GET', base, opt);
    } catch (e) {
      if (e.status === 404) {
        replace(summary, h('p', {class: 'error'}, `There is no node named \u201C${name}\u201D.`));
        return;
      }
      throw e;
    }
    for (const g of gates) g.apply(node);
    config.setCapabilities(node);
    cons.setNode(node);
    const [health, sensors, events, jobs, lastPower] = await Promise.all([
      quiet(api('GET', `${base}/health`, opt)),
      quiet(api('GET', `${base}/sensors`, opt)),
      quiet(api('GET', `/events?node=${enc(name)}&limit=50`, opt)),
      quiet(api('GET', `/jobs?node=${enc(name)}&limit=10`, opt)),
      quiet(api('GET', `/jobs?node=${enc(name)}&type=power&state=succeeded&limit=1`, opt)),
    ]);
    drawSummary(node, health, lastPower);
    drawFacts(node, health);
    drawSensors(sensors);
    drawEvents(events);
    replace(jobsBox, jobs.error ? errorP(jobs.error) : jobs.items.length ? jobsTable(jobs.items, {showNode: false}) : h('p', {class: 'muted'}, 'No jobs yet.'));
    if (Date.now() - slowAt > SLOW_EVERY_MS) {
      slowAt = Date.now();
      await Promise.all([loadInventory(opt), loadHistory(opt)]);
      loadGraph();
    }
  }

  // Power: the poller's reading, unless a power job reported since.
  function currentPower(health, lastPower) {
    const polled = health.error ? 'unknown' : health.power || 'unknown';
    const j = lastPower.items && lastPower.items[0];
    const jp = j && j.result && j.result.power;
    if ((jp === 'on' || jp === 'off') &&
        (polled === 'unknown' || !health.last_success || new Date(j.finished_at) > new Date(health.last_success)))
      return {power: jp, source: h('span', {}, 'reported by ', h('a', {href: `#/jobs/${j.id}`}, `job ${j.id}`), ' ', timeEl(j.finished_at))};
    return {power: polled, source: polled === 'unknown' ? 'not read yet' : h('span', {}, 'as polled ', timeEl(health.last_success))};
  }

  function drawSummary(node, health, lastPower) {
    const p = currentPower(health, lastPower);
    replace(summary,
      h('div', {class: 'big-state'}, h('span', {class: 'k'}, 'Health'), healthBadge(health.error ? 'unknown' : health.health)),
      h('div', {class: 'big-state'}, h('span', {class: 'k'}, 'Power'),
        h('span', {class: `badge power-${p.power}`, id: 'node-power', dataset: {power: p.power}},
          h('span', {'aria-hidden': 'true', class: `power-dot ${p.power}`}), ` ${powerText(p.power)}`),
        h('span', {class: 'muted small'}, p.source)),
      h('div', {class: 'big-state'}, h('span', {class: 'k'}, 'BMC'), h('span', {}, `${node.driver} \u2014 ${node.endpoint}`)),
      Object.keys(node.labels || {}).length
        ? h('ul', {class: 'labels', 'aria-label': 'Labels'}, Object.entries(node.labels).map(([k, v]) => h('li', {}, `${k}=${v}`)))
        : null);
  }

  function drawFacts(node, health) {
    const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
    const polls = health.polls || {};
    const pollText = (k) => polls[k] ? `${polls[k].polls} (${polls[k].errors} failed)` : 'none yet';
    replace(facts, h('dl', {class: 'facts'},
      health.error
        ? row('Polling', health.error.status === 404 ? 'Background polling is off in underlayd.' : health.error.message)
        : [
          row('Last successful poll', timeEl(health.last_success)),
          row('Last poll error', health.last_error ? pollError(health.last_error) : 'none'),
          row('Sensor polls', pollText('sensors')),
          row('Event log polls', pollText('sel')),
          row('Inventory polls', pollText('inventory')),
        ],
      row('Lifecycle state', node.state),
      row('BMC user', node.username || '\u2014'),
      row('Password stored', node.has_password ? 'yes' : 'no'),
      row('Enrolled', timeText(node.created_at))));
  }

  function drawSensors(s) {
    if (s.error) {
      sensorsMeta.textContent = s.error.status === 404
        ? 'No readings yet. The poller has not read this BMC\u2019s sensors (it may have none, or polling is off); \u201CRead sensors now\u201D asks the BMC directly.'
        : s.error.message;
      replace(sensorsBox);
      return;
    }
    const pr = s.power_reading;
    // Trouble first, in words, before the long table.
    const bad = s.sensors.filter((x) => x.status === 'warning' || x.status === 'critical')
      .sort((a, b) => (a.status === 'critical' ? 0 : 1) - (b.status === 'critical' ? 0 : 1));
    replace(sensorsMeta, `${s.sensors.length} sensors, read `, timeEl(s.time),
      pr ? `. Power draw ${num(pr.watts, 0)} W (average ${num(pr.avg_watts, 0)} W).` : '.',
      bad.length ? h('span', {class: 'out-of-range'}, ' Out of range: ',
        bad.map((x, i) => [i ? ', ' : '', h('strong', {}, x.name), ` ${x.status} at ${reading(x.value, x.unit)}`]), '.') : null);
    const groups = new Map();
    for (const x of s.sensors) {
      if (!groups.has(x.kind)) groups.set(x.kind, []);
      groups.get(x.kind).push(x);
    }
    const order = [...KINDS, 'discrete'];
    const kinds = [...groups.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    // A threshold cell; the one the reading has crossed stands out.
    const t = (x, ...keys) => {
      const k = keys.find((key) => x.thresholds && typeof x.thresholds[key] === 'number');
      if (!k) return h('td', {class: 'num'});
      const v = x.thresholds[k];
      const crossed = typeof x.value === 'number' && (k.startsWith('lower') ? x.value <= v : x.value >= v);
      return h('td', {class: `num${crossed ? ' crossed' : ''}`}, num(v),
        crossed ? h('span', {class: 'sr-only'}, ' (crossed)') : null);
    };
    replace(sensorsBox, h('table', {class: 'sensors'},
      h('caption', {class: 'sr-only'}, `Sensor readings of ${name}, with thresholds`),
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, 'Sensor'), h('th', {scope: 'col'}, 'Reading'), h('th', {scope: 'col'}, 'Status'),
        h('th', {scope: 'col'}, 'Low critical'), h('th', {scope: 'col'}, 'Low warning'),
        h('th', {scope: 'col'}, 'High warning'), h('th', {scope: 'col'}, 'High critical'),
        h('th', {scope: 'col'}, 'BMC says'), h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Graph')))),
      kinds.map((k) => h('tbody', {},
        h('tr', {class: 'group'}, h('th', {scope: 'rowgroup', colspan: '9'}, KIND_TEXT[k] || k)),
        groups.get(k).map((x) => h('tr', {class: `status-${x.status}`},
          h('th', {scope: 'row'}, x.name),
          h('td', {class: 'num'}, reading(x.value, x.unit)),
          h('td', {}, statusBadge(x.status)),
          t(x, 'lower_critical', 'lower_non_recoverable'),
          t(x, 'lower_non_critical'),
          t(x, 'upper_non_critical'),
          t(x, 'upper_critical', 'upper_non_recoverable'),
          h('td', {}, x.state),
          h('td', {}, x.value !== null && KINDS.includes(x.kind)
            ? h('button', {type: 'button', class: 'small', dataset: {key: `graph-${x.kind}-${x.name}`},
              'aria-label': `Graph ${x.name}`, onclick: () => showSensorGraph(x)}, 'Graph')
            : '')))))));
  }

  function drawEvents(ev) {
    if (ev.error) {
      replace(eventsBox, errorP(ev.error));
      return;
    }
    if (!ev.items.length) {
      replace(eventsBox, h('p', {class: 'muted'}, 'No events collected from this BMC\u2019s log.'));
      return;
    }
    replace(eventsBox,
      h('p', {class: 'muted'}, ev.total > ev.items.length ? `Newest ${ev.items.length} of ${ev.total} events.` : `${ev.total} events, newest first.`),
      h('table', {class: 'events'},
        h('thead', {}, h('tr', {}, ['Time', 'Severity', 'Sensor', 'Message'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', {}, ev.items.map((e) => h('tr', {class: `sev-${e.severity}`},
          h('td', {class: 'nowrap'}, e.time ? h('time', {datetime: e.time, title: timeText(e.time)}, shortTime(e.time)) : 'no time'),
          h('td', {}, statusBadge(e.severity)),
          h('td', {}, e.sensor || '\u2014'),
          h('td', {}, e.message))))));
  }

  async function loadInventory(opt) {
    try {
      const inv = await api('GET', `${base}/inventory`, opt);
      replace(invBox, h('p', {class: 'muted'}, 'Collected ', timeEl(inv.updated_at), '.'), kv(inv.inventory, 3));
    } catch (e) {
      if (e.name === 'AbortError' || e.status === 401) throw e;
      replace(invBox, e.status === 404
        ? h('p', {class: 'muted'}, 'No inventory collected yet (the poller reads it once a day).')
        : errorP(e));
    }
  }

  // ---- graphs ---------------------------------------------------------------------------

  async function loadHistory(opt) {
    try {
      graph.history = (await api('GET', `${base}/history`, opt)).sensors;
    } catch (e) {
      if (e.name === 'AbortError' || e.status === 401) throw e;
      graph.history = [];
      graph.error = e;
    }
    const byKind = new Map();
    for (const s of graph.history) {
      if (!KINDS.includes(s.kind)) continue;
      if (!byKind.has(s.kind)) byKind.set(s.kind, []);
      byKind.get(s.kind).push(s.sensor);
    }
    if (!byKind.has(graph.kind) && byKind.size) [graph.kind] = byKind.keys();
    replace(graphSel, [...byKind].map(([k, sensors]) => h('optgroup', {label: KIND_TEXT[k] || k},
      h('option', {value: choice(k, '')}, `All ${(KIND_TEXT[k] || k).toLowerCase()} sensors`),
      sensors.map((s) => h('option', {value: choice(k, s)}, s)))));
    graphSel.disabled = !byKind.size;
    graphControls.hidden = !byKind.size;
    graphSel.value = choice(graph.kind, graph.sensor);
  }

  function showSensorGraph(x) {
    graph.kind = x.kind;
    graph.sensor = x.name;
    graphSel.value = choice(x.kind, x.name);
    loadGraph();
    document.getElementById('graphs-title').scrollIntoView({block: 'start'});
    graphSel.focus({preventScroll: true});
  }

  let graphCtl = new AbortController();
  async function loadGraph() {
    graphCtl.abort();
    graphCtl = new AbortController();
    if (!graph.history || !graph.history.length) {
      graphImg.hidden = true;
      graphNote.textContent = graph.error
        ? (graph.error.status === 404 ? 'Sensor history is off in underlayd ([rrd] enabled = 0).' : graph.error.message)
        : 'No history yet. Once the poller reads this BMC\u2019s sensors, readings are stored every minute and graphs appear a minute or two later.';
      return;
    }
    const what = graph.sensor ? graph.sensor : `${(KIND_TEXT[graph.kind] || graph.kind).toLowerCase()} sensors`;
    const z = graph.zoom;
    const span = z ? `${timeText(new Date(z.start * 1000))} to ${timeText(new Date(z.end * 1000))}`
      : RANGES.find(([r]) => r === graph.range)[1];
    const fig = graphImg.parentElement;
    // The API's width is the plot area; rrdtool adds ~100 px of margins.
    const width = Math.max(300, Math.min(4000, Math.round((fig.clientWidth || 900) - 110)));
    const height = document.documentElement.classList.contains('wall') ? 360 : 240;
    const q = new URLSearchParams(z ? {kind: graph.kind, start: z.start, end: z.end, width, height}
      : {kind: graph.kind, range: graph.range, width, height});
    if (graph.sensor) q.set('sensor', graph.sensor);
    zoomReset.hidden = !z;
    loadZoom(graphCtl.signal);
    graphNote.textContent = `Loading ${what} over the last ${span}\u2026`;
    try {
      const blob = await api('GET', `${base}/graph?${q}`, {blob: true, signal: graphCtl.signal});
      const old = graph.url;
      graph.url = URL.createObjectURL(blob);
      graphImg.src = graph.url;
      graphImg.alt = `Graph of the ${what} of ${name} over the last ${span}`;
      graphImg.dataset.range = z ? 'zoom' : graph.range;
      graphImg.dataset.kind = graph.kind;
      graphImg.hidden = false;
      if (old) URL.revokeObjectURL(old);
      graphNote.textContent = `${what[0].toUpperCase()}${what.slice(1)} of ${name}, ${z ? '' : 'last '}${span}; drawn ${clockText()}.`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      graphImg.hidden = true;
      graphNote.textContent = e.status === 404 ? `No history of the ${what} over this period yet.` : `${e.message} ${e.detail}`;
    }
  }

  // The interactive chart: the same lines from the series API, drawn here;
  // drag across it to zoom into that span (both drawings follow), "Reset
  // zoom" or a preset to go back.
  async function loadZoom(signal) {
    const now = Math.floor(Date.now() / 1000);
    let [start, end] = graph.zoom ? [graph.zoom.start, graph.zoom.end] : [now - RANGE_S[graph.range], now];
    const ofKind = graph.history.filter((s) => s.kind === graph.kind);
    const shown = graph.sensor ? ofKind.filter((s) => s.sensor === graph.sensor) : ofKind.slice(0, ZOOM_MAX_LINES);
    const sensors = shown.map((s) => s.sensor);
    // A preset starts at the data, as the server's graph does
    // (rrdw_graph_start): a new node shows its hour, not a sliver of a week.
    const created = shown.map((s) => s.created || 0);
    if (!graph.zoom && created.length && created.every((c) => c > 0) && end - start > 3600) {
      start = Math.max(start, Math.min(Math.min(...created), end - 3600));
    }
    zoomBox.dataset.preset = graph.zoom ? 'zoom' : graph.range;
    zoomNote.textContent = 'Loading the interactive chart\u2026';
    let series;
    try {
      series = await Promise.all(sensors.map((sensor) => api('GET',
        `${base}/series?${new URLSearchParams({sensor, kind: graph.kind, start, end})}`, {signal})
        .catch((e) => { if (e.name === 'AbortError') throw e; return {sensor, points: []}; })));
    } catch (e) {
      if (e.name !== 'AbortError') zoomNote.textContent = e.message;
      return;
    }
    const lines = series.map((r, i) => ({
      sensor: sensors[i],
      color: PALETTE[(graph.sensor ? 0 : i) % PALETTE.length],
      pts: (r.points || []).filter(([t, v]) => v !== null && t >= start && t <= end),
    }));
    drawZoom(lines, start, end);
  }

  function drawZoom(lines, start, end) {
    const NS = 'http://www.w3.org/2000/svg';
    const el = (tag, attrs, text) => {
      const e = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      if (text !== undefined) e.textContent = text;
      return e;
    };
    const W = Math.max(320, Math.round(zoomBox.parentElement.clientWidth || 900));
    const H = 220, L = 64, R = 12, T = 10, B = 26;
    const vals = lines.flatMap((l) => l.pts.map(([, v]) => v));
    zoomBox.hidden = false;
    zoomBox.dataset.start = start;
    zoomBox.dataset.end = end;
    if (!vals.length) {
      replace(zoomBox);
      zoomNote.textContent = 'No readings in this span.';
      return;
    }
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    // A step of 1, 2 or 5 x 10^n giving 3 to 6 ticks: no label twice.
    const raw = (hi - lo) / 4, mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    const dec = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    const x = (t) => L + (t - start) / (end - start) * (W - L - R);
    const y = (v) => T + (hi - v) / (hi - lo) * (H - T - B);
    const svg = el('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
      'aria-label': `Interactive chart of ${lines.map((l) => l.sensor).join(', ')}; drag to zoom`});
    for (let v = lo; v <= hi + step / 2; v += step) {
      svg.append(el('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid'}),
        el('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, v.toFixed(dec)));
    }
    svg.append(el('text', {x: 12, y: T + 10, class: 'unit'}, UNIT[graph.kind] || ''));
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const t = start + f * (end - start);
      svg.append(el('text', {x: x(t), y: H - 8, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle'},
        shortTime(new Date(t * 1000))));
    }
    for (const l of lines) {
      if (!l.pts.length) continue;
      svg.append(el('polyline', {points: l.pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
        stroke: l.color, class: 'line'}));
    }
    const brush = el('rect', {y: T, height: H - T - B, width: 0, class: 'brush', visibility: 'hidden'});
    svg.append(brush);
    let x0 = null;
    const px = (ev) => {
      const r = svg.getBoundingClientRect();
      return Math.max(L, Math.min(W - R, (ev.clientX - r.left) * W / r.width));
    };
    svg.addEventListener('pointerdown', (ev) => { x0 = px(ev); svg.setPointerCapture(ev.pointerId); });
    svg.addEventListener('pointermove', (ev) => {
      if (x0 === null) return;
      const x1 = px(ev);
      brush.setAttribute('x', Math.min(x0, x1));
      brush.setAttribute('width', Math.abs(x1 - x0));
      brush.setAttribute('visibility', 'visible');
    });
    svg.addEventListener('pointerup', (ev) => {
      if (x0 === null) return;
      const a = Math.min(x0, px(ev)), b = Math.max(x0, px(ev));
      x0 = null;
      brush.setAttribute('visibility', 'hidden');
      const t = (p) => Math.round(start + (p - L) / (W - L - R) * (end - start));
      if (b - a < 5 || t(b) - t(a) < 120) return; // a click, or less than two minutes
      graph.zoom = {start: t(a), end: t(b)};
      loadGraph();
    });
    svg.addEventListener('dblclick', () => { if (graph.zoom) { graph.zoom = null; loadGraph(); } });
    replace(zoomBox, svg, h('p', {class: 'graph-legend'}, lines.map((l) => h('span', {},
      h('span', {class: 'swatch', style: `background:${l.color}`}), ` ${l.sensor} `))));
    zoomNote.textContent = `Drag across the chart to zoom in${graph.zoom ? '; double-click or \u201cReset zoom\u201d to go back' : ''}.`;
  }

  return {
    refresh,
    unmount() {
      ctl.abort();
      graphCtl.abort();
      runner.stop();
      config.stop();
      cons.stop();
      if (graph.url) URL.revokeObjectURL(graph.url);
    },
  };
}

// A poll of something the BMC lacks is not a fault: say so quietly.
function pollError(e) {
  const unsupported = /not supported by this BMC/.test(e.message);
  return h('span', {class: unsupported ? 'muted' : ''},
    unsupported ? 'Not supported by this BMC (the poller skips it): ' : null,
    unsupported ? e.message : h('strong', {}, e.message), ' ',
    h('span', {class: 'muted'}, `(${e.kind} poll, `, timeEl(e.time), ')'));
}

const choice = (kind, sensor) => `${kind}\u0000${sensor}`;
const splitChoice = (v) => v.split('\u0000');

// Inventory: nested key/value sections as headings and definition lists.
function kv(obj, level) {
  if (obj === null || typeof obj !== 'object') return h('span', {}, String(obj));
  if (Array.isArray(obj)) return h('ol', {}, obj.map((v) => h('li', {}, kv(v, level + 1))));
  const flat = Object.entries(obj).filter(([, v]) => v === null || typeof v !== 'object');
  const nested = Object.entries(obj).filter(([, v]) => v !== null && typeof v === 'object');
  return h('div', {class: 'kv'},
    flat.length ? h('dl', {class: 'facts'}, flat.map(([k, v]) => [h('dt', {}, pretty(k)), h('dd', {}, v === null ? '\u2014' : String(v))])) : null,
    nested.map(([k, v]) => h('section', {class: 'kv-section'}, h(`h${Math.min(level, 6)}`, {}, pretty(k)), kv(v, level + 1))));
}

function pretty(k) {
  const s = k.replace(/_/g, ' ');
  return ({bmc: 'BMC', fru: 'FRU (field replaceable units)', ipmi_version: 'IPMI version'})[k] || s[0].toUpperCase() + s.slice(1);
}
