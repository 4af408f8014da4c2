// events.js - the fleet's events (#/events): every event collected from the
// BMCs' logs (GET /events), newest first, 100 a page, filtered by node,
// severity and period; the filters are kept in the address.
import {api, enc} from './api.js';
import {h, replace, statusBadge, timeText} from './util.js';

const PAGE = 100;
const SEVERITIES = ['critical', 'warning', 'info'];
const PERIODS = [['', 'Any time'], ['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days']];
const PERIOD_S = {'1h': 3600, '24h': 86400, '7d': 7 * 86400};

export function mount(container, params) {
  const q = params.query;
  const filter = {node: q.get('node') || '', severity: q.get('severity') || '', period: q.get('period') || ''};
  let offset = 0;
  let ctl = new AbortController();
  const status = h('p', {class: 'muted', id: 'events-count', 'aria-live': 'polite'});
  const body = h('div', {class: 'table-wrap'});
  const newer = h('button', {type: 'button', onclick: () => { offset = Math.max(0, offset - PAGE); refresh(); }}, '\u2190 Newer');
  const older = h('button', {type: 'button', onclick: () => { offset += PAGE; refresh(); }}, 'Older \u2192');
  const sevSel = h('select', {id: 'events-severity', onchange: (e) => { filter.severity = e.target.value; changed(); }},
    h('option', {value: ''}, 'Any severity'), SEVERITIES.map((s) => h('option', {value: s}, s)));
  sevSel.value = filter.severity;
  const perSel = h('select', {id: 'events-period', onchange: (e) => { filter.period = e.target.value; changed(); }},
    PERIODS.map(([v, t]) => h('option', {value: v}, t)));
  perSel.value = filter.period;
  const nodeIn = h('input', {id: 'events-node', type: 'search', autocomplete: 'off', placeholder: 'exact node name',
    value: filter.node, onchange: (e) => { filter.node = e.target.value.trim(); changed(); }});

  container.append(
    h('h1', {}, 'Events'),
    h('p', {class: 'lead'}, 'Events collected from every BMC\u2019s event log (SEL), newest first.'),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'events-node'}, 'Node'), nodeIn,
      h('label', {for: 'events-severity'}, 'Severity'), sevSel,
      h('label', {for: 'events-period'}, 'Period'), perSel),
    status, body,
    h('nav', {class: 'pager', 'aria-label': 'Event pages'}, newer, older));

  function changed() {
    offset = 0;
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v) p.set(k, v);
    const s = p.toString();
    history.replaceState(null, '', `#/events${s ? `?${s}` : ''}`);
    refresh();
  }

  async function refresh() {
    ctl.abort();
    ctl = new AbortController();
    const p = new URLSearchParams({limit: PAGE, offset});
    if (filter.node) p.set('node', filter.node);
    if (filter.severity) p.set('severity', filter.severity);
    if (filter.period) p.set('since', new Date(Date.now() - PERIOD_S[filter.period] * 1000).toISOString().replace(/\.\d+Z$/, 'Z'));
    let page;
    try {
      page = await api('GET', `/events?${p}`, {signal: ctl.signal});
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e.status === 404 || e.code === 'invalid_argument') {
        status.textContent = '';
        replace(body, h('p', {class: 'error'}, h('strong', {}, e.message), ' ', h('span', {class: 'detail'}, e.detail)));
        return;
      }
      throw e;
    }
    const n = page.items.length;
    status.textContent = page.total ? `Events ${offset + 1}\u2013${offset + n} of ${page.total}, newest first.` : 'No events match.';
    newer.disabled = offset === 0;
    older.disabled = offset + n >= page.total;
    replace(body, n ? h('table', {class: 'events-table'},
      h('thead', {}, h('tr', {},
        ['Time', 'Node', 'Severity', 'Sensor', 'Message', 'Source'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, page.items.map((ev) => h('tr', {dataset: {event: ev.id}},
        h('td', {class: 'nowrap'}, ev.time ? h('time', {datetime: ev.time}, timeText(ev.time)) : 'no time from the BMC'),
        h('td', {class: 'nowrap'}, h('a', {href: `#/node/${enc(ev.node)}`, dataset: {key: `ev-${ev.id}`}}, ev.node)),
        h('td', {}, statusBadge(ev.severity)),
        h('td', {}, ev.sensor || '\u2014'),
        h('td', {}, ev.message || ''),
        h('td', {}, ev.source || ''))))) : '');
  }
  return {refresh, unmount: () => ctl.abort()};
}
