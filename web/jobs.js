// jobs.js - the jobs view (#/jobs, newest first), one job (#/jobs/ID), and
// following a job: the progress panel the node view's actions (power, boot,
// reads, configuration) share.
import {api, enc, errorWords} from './api.js';
import {
  h, replace, jobBadge, jobTitle, jobResultText, jobFinished, timeEl, timeText, durationText,
} from './util.js';

const PAGE = 50;

// The job's outcome in words: what it found, or why it failed (operator
// words first, underlayd's own message as the detail).  Something the BMC
// lacks is not a fault: that is said quietly.
export function jobOutcome(j) {
  if (j.state === 'succeeded') return h('span', {class: 'outcome ok'}, jobResultText(j) || j.message || 'Done.');
  if (unsupported(j)) return unsupportedOutcome(j.error.message);
  if (j.error) {
    return h('span', {class: 'outcome bad'},
      h('strong', {}, failureHeadline(j)), ' ',
      h('span', {class: 'detail'}, j.error.message));
  }
  if (j.state === 'queued') return h('span', {class: 'outcome'}, 'Waiting for a worker, or for an earlier job on this node.');
  return h('span', {class: 'outcome'}, j.message || '');
}

// The headline of a failed or canceled job, by the kind of failure (the
// error code, common/ul_error.c): a batch says how many of its nodes
// failed; a job that ran out of its own time limit is not "the BMC did not
// answer"; a cancel is not a fault of the BMC.
export function failureHeadline(j) {
  const e = j.error || {};
  if (j.type === 'batch' && j.result && j.result.counts) {
    const c = j.result.counts;
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    const parts = [];
    if (c.failed) parts.push(`${c.failed} of ${total} node${total === 1 ? '' : 's'} failed`);
    if (c.canceled) parts.push(`${c.canceled} canceled`);
    if (parts.length) return `${parts.join(', ')}.`;
  }
  if (j.state === 'canceled' || e.code === 'canceled') return errorWords('canceled');
  if (e.code === 'timeout' && /^job timed out/.test(e.message || ''))
    return `The job ran past its time limit (${j.timeout} s) and was stopped.`;
  return errorWords(e.code, e.message);
}

// A job that failed only because this BMC lacks the feature.
export const unsupported = (j) => j.state === 'failed' && !!j.error && j.error.code === 'not_supported';

// A refused request (or any API error) as a line: operator words, then
// underlayd's message.
// "Not supported by this BMC", calmly (no red): a job that found out, or
// underlayd refusing at once (501) because the node's driver lacks the
// capability.
export function unsupportedOutcome(message) {
  return h('span', {class: 'outcome unsupported'},
    h('span', {'aria-hidden': 'true', class: 'info-glyph'}, 'i'), ' ', errorWords('not_supported'), ' ',
    h('span', {class: 'detail'}, message || ''));
}

// A job panel saying so, without a job.
export function unsupportedPanel(message) {
  return h('div', {class: 'job-panel job-unsupported', dataset: {code: 'not_supported'}},
    h('p', {}, unsupportedOutcome(message)));
}

export function errorP(e) {
  return h('p', {class: 'error'}, h('strong', {}, e.message || errorWords(e.code, e.detail)), ' ',
    h('span', {class: 'detail'}, e.detail || ''));
}

function progressEl(j) {
  const p = jobFinished(j) && j.state === 'succeeded' ? 100 : j.progress || 0;
  return h('span', {class: 'progress'},
    h('progress', {max: '100', value: String(p), 'aria-label': `Job ${j.id} progress`}, `${p}%`),
    h('span', {class: 'pct'}, `${p}%`));
}

// ---- following a job ---------------------------------------------------------

// Read job `j` every 500 ms until it ends.  onUpdate(job) with `j` at once
// and after every read; onBlip(error) when a read fails (a daemon
// restarting: tried again 2 s later).  Returns {done, stop}: done resolves
// with the finished job, unless stop() was called first.
export function watchJob(j, {onUpdate, onBlip} = {}) {
  let stopped = false, timer = 0, resolve;
  const done = new Promise((r) => { resolve = r; });
  const tick = async () => {
    if (stopped) return;
    let job;
    try {
      job = await api('GET', `/jobs/${j.id}`);
    } catch (e) {
      if (stopped) return;
      onBlip?.(e);
      timer = setTimeout(tick, 2000);
      return;
    }
    if (stopped) return;
    onUpdate?.(job);
    if (jobFinished(job)) resolve(job);
    else timer = setTimeout(tick, 500);
  };
  onUpdate?.(j);
  if (jobFinished(j)) resolve(j);
  else timer = setTimeout(tick, 300);
  return {done, stop() { stopped = true; clearTimeout(timer); }};
}

// Draw job `j` into `box` (a live region) and follow it until it ends, then
// call onDone(job).  outcome(job), when given, draws a finished job's
// outcome instead of jobOutcome (what a configuration change found).
// Returns a function that stops following (view unmounted).
export function followJob(j, box, {onDone, outcome} = {}) {
  let drawn = '';
  const draw = (job) => {
    // box is a live region: redraw (and so re-announce) only on a change.
    const sig = [job.state, job.progress, job.message].join('|');
    if (sig === drawn) return;
    drawn = sig;
    const head = h('p', {class: 'job-head'},
      h('strong', {}, jobTitle(job)), ' on ', job.node || '', ' \u2014 ',
      h('a', {href: `#/jobs/${job.id}`}, `job ${job.id}`), ' ');
    if (unsupported(job)) {
      // Calm: no progress bar, no red; the BMC simply has no such thing.
      replace(box, h('div', {class: 'job-panel job-unsupported', dataset: {state: job.state, code: 'not_supported'}},
        head, h('p', {}, jobOutcome(job))));
      return;
    }
    head.append(jobBadge(job.state));
    const finished = jobFinished(job);
    replace(box, h('div', {class: `job-panel job-${job.state}`, dataset: {state: job.state}},
      head,
      progressEl(job),
      h('p', {class: 'step'}, job.message ? `Step: ${job.message}` : 'Starting\u2026'),
      finished ? h('div', {class: 'job-outcome'}, (outcome && outcome(job)) || h('p', {}, jobOutcome(job))) : null));
  };
  const w = watchJob(j, {
    onUpdate: draw,
    onBlip: (e) => {
      box.querySelector('.step')?.replaceChildren(`Cannot read the job's state: ${e.message}`);
      drawn = ''; // draw again once it answers
    },
  });
  w.done.then((job) => onDone?.(job));
  return w.stop;
}

// The job panel a view's actions share: run(method, path, body) sends the
// operation and follows its job in `box` (a live region) to its end; a new
// run replaces the last one's panel.  Resolves with the finished job, or
// null when underlayd refused the request (the panel then says why, e.g.
// the role a 403 needs).  Options: onDone(job) after every job, outcome as
// for followJob (also per run).
export function jobRunner(box, {onDone, outcome} = {}) {
  let stop = null, gen = 0;
  const halt = () => {
    gen++; // a request still on its way is not followed
    if (stop) stop();
    stop = null;
  };
  return {
    async run(method, path, body, opts = {}) {
      halt();
      const mine = gen;
      replace(box, h('p', {}, 'Sending\u2026'));
      let r;
      try {
        r = await api(method, path, body === undefined ? {} : {body});
      } catch (e) {
        if (e.name !== 'AbortError' && mine === gen)
          replace(box, e.code === 'not_supported' ? unsupportedPanel(e.detail) : errorP(e));
        return null;
      }
      if (mine !== gen) return null;
      return new Promise((resolve) => {
        stop = followJob(r.job, box, {
          outcome: opts.outcome || outcome,
          onDone: (job) => {
            stop = null;
            onDone?.(job);
            resolve(job);
          },
        });
      });
    },
    stop: halt,
  };
}

// ---- #/jobs -------------------------------------------------------------------

function mountList(container, app) {
  let offset = 0, state = '', node = '';
  let ctl = new AbortController();
  const status = h('p', {class: 'muted', id: 'jobs-count'});
  const body = h('div', {class: 'table-wrap'});
  const newer = h('button', {type: 'button', onclick: () => { offset = Math.max(0, offset - PAGE); app.refresh(); }}, '\u2190 Newer');
  const older = h('button', {type: 'button', onclick: () => { offset += PAGE; app.refresh(); }}, 'Older \u2192');
  const stateSel = h('select', {id: 'jobs-state', onchange: (e) => { state = e.target.value; offset = 0; app.refresh(); }},
    h('option', {value: ''}, 'All states'),
    ['queued', 'running', 'succeeded', 'failed', 'canceled'].map((s) => h('option', {value: s}, s)));
  const nodeIn = h('input', {id: 'jobs-node', type: 'search', autocomplete: 'off', placeholder: 'exact node name',
    onchange: (e) => { node = e.target.value.trim(); offset = 0; app.refresh(); }});

  container.append(
    h('h1', {}, 'Jobs'),
    h('p', {class: 'lead'}, 'Every operation underlayd ran on a BMC for an operator (power, boot, reads), newest first. Background polls are not jobs.'),
    h('form', {class: 'filters', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'jobs-state'}, 'State'), stateSel,
      h('label', {for: 'jobs-node'}, 'Node'), nodeIn),
    status, body,
    h('nav', {class: 'pager', 'aria-label': 'Job pages'}, newer, older));

  async function refresh() {
    ctl.abort();
    ctl = new AbortController();
    const q = new URLSearchParams({limit: PAGE, offset});
    if (state) q.set('state', state);
    if (node) q.set('node', node);
    const page = await api('GET', `/jobs?${q}`, {signal: ctl.signal});
    const n = page.items.length;
    status.textContent = page.total
      ? `Jobs ${offset + 1}\u2013${offset + n} of ${page.total}, newest first.` : 'No jobs match.';
    newer.disabled = offset === 0;
    older.disabled = offset + n >= page.total;
    replace(body, page.items.length ? jobsTable(page.items) : '');
  }
  return {refresh, unmount: () => ctl.abort()};
}

export function jobsTable(items, {showNode = true} = {}) {
  return h('table', {class: 'jobs'},
    h('thead', {}, h('tr', {},
      h('th', {scope: 'col'}, 'Job'), h('th', {scope: 'col'}, 'What'),
      showNode ? h('th', {scope: 'col'}, 'Node') : null,
      h('th', {scope: 'col'}, 'State'), h('th', {scope: 'col'}, 'Progress'),
      h('th', {scope: 'col'}, 'Result or step'), h('th', {scope: 'col'}, 'By'),
      h('th', {scope: 'col'}, 'Created'), h('th', {scope: 'col'}, 'Took'))),
    h('tbody', {}, items.map((j) => h('tr', {class: `job-row job-${j.state}`, dataset: {job: j.id}},
      h('td', {}, h('a', {href: `#/jobs/${j.id}`, dataset: {key: `job-${j.id}`}}, `#${j.id}`)),
      h('td', {}, jobTitle(j)),
      showNode ? h('td', {class: 'nowrap'}, j.node ? h('a', {href: `#/node/${enc(j.node)}`, dataset: {key: `jn-${j.id}`}}, j.node) : '\u2014') : null,
      h('td', {}, jobBadge(j.state)),
      h('td', {}, progressEl(j)),
      h('td', {}, jobOutcome(j)),
      h('td', {}, j.actor),
      h('td', {class: 'nowrap'}, timeEl(j.created_at)),
      h('td', {}, durationText(j))))));
}

// ---- #/jobs/ID --------------------------------------------------------------

function mountDetail(container, id, app) {
  let ctl = new AbortController();
  const title = h('h1', {}, `Job ${id}`);
  const body = h('div', {});
  const live = h('div', {role: 'status', 'aria-live': 'polite', class: 'job-live'});
  container.append(h('p', {class: 'crumbs'}, h('a', {href: '#/jobs'}, '\u2190 All jobs')), title, live, body);
  let lastState = '';

  async function cancel(j) {
    const ok = await app.confirm({
      title: `Cancel job ${j.id}?`,
      text: `${jobTitle(j)} on ${j.node}: a queued job is dropped at once; a running one stops at its next safe point.`,
      ok: 'Cancel the job',
    });
    if (!ok) return;
    try {
      await api('POST', `/jobs/${j.id}/cancel`);
    } catch (e) {
      live.replaceChildren(h('p', {class: 'error'}, h('strong', {}, e.message), ' ', h('span', {class: 'detail'}, e.detail)));
    }
    app.refresh();
  }

  async function refresh() {
    // A finished job does not change: stop asking.
    if (jobFinished({state: lastState})) return;
    ctl.abort();
    ctl = new AbortController();
    const j = await api('GET', `/jobs/${enc(id)}`, {signal: ctl.signal});
    if (j.state !== lastState) live.textContent = `Job ${j.id}: ${jobBadge(j.state).textContent.trim()}`;
    lastState = j.state;
    title.textContent = `Job ${j.id}: ${jobTitle(j)}${j.node ? ` on ${j.node}` : ''}`;
    const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
    replace(body,
      h('dl', {class: 'facts'},
        row('State', jobBadge(j.state)),
        row('Progress', progressEl(j)),
        row('Step', j.message || '\u2014'),
        row('Outcome', jobFinished(j) ? jobOutcome(j) : 'Not finished yet'),
        row('Node', j.node ? h('a', {href: `#/node/${enc(j.node)}`}, j.node) : '\u2014'),
        row('Started by', j.actor || '\u2014'),
        row('Created', timeText(j.created_at)),
        row('Started', timeText(j.started_at)),
        row('Finished', timeText(j.finished_at)),
        row('Took', durationText(j) || '\u2014'),
        row('Attempts', String(j.attempts)),
        row('Time limit', `${j.timeout} s`),
        j.cancel_requested ? row('Cancel', 'requested') : null),
      jobFinished(j) ? null : h('p', {}, h('button', {type: 'button', class: 'danger', dataset: {key: 'cancel'}, onclick: () => cancel(j)}, 'Cancel this job\u2026')),
      h('h2', {}, 'Parameters'), h('pre', {class: 'json'}, JSON.stringify(j.params, null, 2)),
      j.result ? [h('h2', {}, 'Result (as the BMC reported it)'), h('pre', {class: 'json'}, JSON.stringify(j.result, null, 2))] : null);
  }
  return {refresh, unmount: () => ctl.abort()};
}

export function mount(container, params, app) {
  return params.id ? mountDetail(container, params.id, app) : mountList(container, app);
}
