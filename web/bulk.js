// bulk.js - one power or boot action over the nodes selected in the fleet
// list: one confirmation that lists every node, then one batch job
// (POST /power or /boot with {"nodes": [...]}) whose progress is followed
// as a whole (GET /jobs/ID: `children` counts by state) and node by node
// (GET /jobs?parent=ID: the child jobs) until it ends.
import {api, apiAll} from './api.js';
import {h, replace, jobBadge, jobTitle, jobFinished, count, deviceText} from './util.js';
import {jobOutcome, errorP, failureHeadline} from './jobs.js';

const ACTIONS = [
  ['power:on', 'Power on', 'powers the machines on'],
  ['power:off', 'Power off (hard)', 'cuts power at once, like pulling the plug: unsaved work on them is lost'],
  ['power:soft', 'Soft power off', 'asks each operating system to shut down'],
  ['power:cycle', 'Power cycle', 'turns the machines off and on again: unsaved work on them is lost'],
  ['power:reset', 'Hard reset', 'resets the machines at once: unsaved work on them is lost'],
  ['power:status', 'Read power state', 'only reads each power state; nothing changes'],
  ...['pxe', 'disk', 'cdrom', 'bios', 'none'].map((d) => [`boot:${d}`, `Next boot from ${deviceText(d)}`,
    `sets each machine's next boot to ${deviceText(d)} (it takes effect at the next reboot)`]),
];
const EVERY_MS = 1000;
const CHILDREN_SHOWN = 1000;  // per-node rows drawn at most (the counts cover all)

// getNames() -> the selected names, sorted.  Returns {controls, box,
// setCount(n), stop()}: the action menu and button, the live progress box.
export function bulkPanel(app, getNames, onDone) {
  const actionSel = h('select', {id: 'bulk-action'}, ACTIONS.map(([v, t]) => h('option', {value: v}, t)));
  const go = h('button', {type: 'button', id: 'bulk-go', class: 'danger', disabled: true, onclick: start}, 'Apply to selection\u2026');
  const controls = h('span', {class: 'bulk-controls'}, h('label', {for: 'bulk-action'}, 'Action'), actionSel, go);
  const box = h('div', {id: 'bulk-job', class: 'bulk-job', role: 'status', 'aria-live': 'polite'});
  let timer = 0, gen = 0;

  function stop() {
    gen++;
    clearTimeout(timer);
  }

  async function start() {
    const names = getNames();
    if (!names.length) return;
    const [kind, what] = actionSel.value.split(':');
    const [, title, effect] = ACTIONS.find((a) => a[0] === actionSel.value);
    const ok = await app.confirm({
      title: `${title}: ${count(names.length, 'node')}?`,
      text: `This ${effect}, on each of the ${count(names.length, 'node')} listed below, as one batch job; each node's progress is shown as it runs.`,
      list: names,
      listTitle: `The ${count(names.length, 'node')}:`,
      ok: `${title}: ${count(names.length, 'node')}`,
    });
    if (!ok) return;
    stop();
    const mine = gen;
    replace(box, h('p', {}, 'Sending\u2026'));
    const body = kind === 'power' ? {nodes: names, action: what} : {nodes: names, device: what, persistent: false};
    let r;
    try {
      r = await api('POST', `/${kind}`, {body});
    } catch (e) {
      if (mine === gen) replace(box, errorP(e));
      return;
    }
    if (mine === gen) follow(r.job, mine);
  }

  async function follow(parent, mine) {
    let job = parent, children = [], total = 0;
    try {
      [job, children] = await Promise.all([
        api('GET', `/jobs/${parent.id}`),
        apiAll(`/jobs?parent=${parent.id}`, {}, CHILDREN_SHOWN).then((items) => items, () => children),
      ]);
    } catch (e) {
      if (mine !== gen) return;
      box.querySelector('.step')?.replaceChildren(`Cannot read the job's state: ${e.message}`);
      timer = setTimeout(() => follow(parent, mine), 2 * EVERY_MS);
      return;
    }
    if (mine !== gen) return;
    const c = job.children || {};
    // The children are created as the batch starts: count every node named.
    total = Math.max(c.total || 0, (job.params?.nodes || []).length);
    draw(job, c, total, children);
    if (jobFinished(job)) onDone?.(job);
    else timer = setTimeout(() => follow(parent, mine), EVERY_MS);
  }

  function draw(job, c, total, children) {
    const ended = (c.succeeded || 0) + (c.failed || 0) + (c.canceled || 0);
    const pct = total ? Math.round((100 * ended) / total) : 0;
    const finished = jobFinished(job);
    const states = ['running', 'queued', 'succeeded', 'failed', 'canceled'].filter((s) => c[s])
      .map((s) => `${c[s]} ${{running: 'running', queued: 'queued', succeeded: 'done', failed: 'failed', canceled: 'canceled'}[s]}`);
    // Failed first, then running, queued, done; by name within.
    const order = {failed: 0, canceled: 1, running: 2, queued: 3, succeeded: 4};
    const rows = children.slice().sort((a, b) => (order[a.state] - order[b.state]) ||
      a.node.localeCompare(b.node, undefined, {numeric: true}));
    replace(box, h('div', {class: `job-panel job-${job.state}`, dataset: {job: job.id}},
      h('p', {class: 'job-head'}, h('strong', {}, jobTitle(job)), ' \u2014 ',
        h('a', {href: `#/jobs/${job.id}`}, `job ${job.id}`), ' ', jobBadge(job.state)),
      h('p', {class: 'progress'},
        h('progress', {max: '100', value: String(pct), 'aria-label': `Job ${job.id}: nodes finished`}, `${pct}%`),
        h('span', {class: 'pct', id: 'bulk-counts'}, `${ended} of ${count(total, 'node')} finished${states.length ? ` (${states.join(', ')})` : ''}`)),
      finished ? h('div', {class: 'job-outcome'}, job.state === 'succeeded'
        ? h('p', {class: 'outcome ok'}, `Done on all ${count(total, 'node')}.`)
        : h('p', {class: 'outcome bad'}, h('strong', {}, failureHeadline(job)), ' ',
          h('span', {class: 'detail'}, job.error?.message || ''))) : null,
      finished || job.state === 'queued' ? null
        : h('p', {}, h('button', {type: 'button', class: 'small danger', onclick: () => cancel(job)}, 'Cancel the rest\u2026')),
      rows.length ? h('div', {class: 'table-wrap bulk-children'}, h('table', {class: 'jobs'},
        h('caption', {class: 'small'}, children.length < total ? `First ${children.length} of ${total} nodes` : 'Each node'),
        h('thead', {}, h('tr', {}, ['Node', 'State', 'Progress', 'Outcome or step', 'Job'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows.map((j) => h('tr', {class: `job-row job-${j.state}`, dataset: {node: j.node, job: j.id}},
          h('td', {class: 'nowrap'}, j.node),
          h('td', {}, jobBadge(j.state)),
          h('td', {}, h('progress', {max: '100', value: String(j.state === 'succeeded' ? 100 : j.progress || 0),
            'aria-label': `${j.node} progress`})),
          h('td', {}, jobFinished(j) ? jobOutcome(j) : (j.message || (j.state === 'queued' ? 'Waiting' : 'Starting\u2026'))),
          h('td', {}, h('a', {href: `#/jobs/${j.id}`}, `#${j.id}`))))))) : null));
  }

  async function cancel(job) {
    const ok = await app.confirm({
      title: `Cancel job ${job.id}?`,
      text: `${jobTitle(job)}: the nodes not started yet are dropped; a running one stops at its next safe point.`,
      ok: 'Cancel the rest',
    });
    if (!ok) return;
    try {
      await api('POST', `/jobs/${job.id}/cancel`);
    } catch (e) {
      box.prepend(errorP(e));
    }
  }

  return {
    controls, box, stop,
    setCount(n) {
      go.disabled = !n;
      go.textContent = n ? `Apply to ${count(n, 'node')}\u2026` : 'Apply to selection\u2026';
    },
  };
}
