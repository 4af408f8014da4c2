// config.js - the node view's Configuration section: firmware (versions;
// update from an image URI the BMC fetches), BIOS settings (attributes with
// their pending values and the BMC's report on the last apply; change one)
// and storage (controllers, drives and volumes; create and delete a volume).
//
// Every read and every change is a job (docs/openapi.yaml, tag
// "configuration"), sent and followed by jobs.js's jobRunner like the power
// actions, each part in a job panel of its own; every change asks first
// through the shell's confirmation dialog.  Nothing is read until the
// operator asks: each read is BMC traffic and an audit line.  A driver
// without the capability (IPMI, the fake driver: the node's `capabilities`)
// gets no Read button or form, only a quiet "not supported" in the part's
// panel; a BMC without the service (a Redfish BMC without Bios or Storage)
// says so quietly, in place, after a read.
import {api, enc} from './api.js';
import {jobRunner, watchJob, jobOutcome, unsupported, unsupportedPanel, errorP} from './jobs.js';
import {h, replace, section, statusBadge, timeEl} from './util.js';

export function configSection(name, app) {
  const base = `/nodes/${enc(name)}`;
  const parts = [firmwarePart(name, base, app), biosPart(name, base, app), storagePart(name, base, app)];
  const el = section('config', 'Configuration',
    h('p', {class: 'lead'}, 'Firmware, BIOS settings and RAID volumes, through the BMC. Nothing is read until you ask. ' +
      'Each read and change is a job; a change is checked against what the BMC reports before it is sent, and read back after.'),
    h('div', {class: 'config-grid'}, parts.map((p) => p.el)),
    {wide: true});
  return {
    el,
    stop() { for (const p of parts) p.stop(); },
    // The node as GET gives it: a part whose capability its driver lacks
    // shows why instead of a read button and forms that could only be
    // refused (501).  A node without the list (an older underlayd) keeps
    // everything.
    setCapabilities(node) {
      for (const p of parts) p.part.setCapable(!Array.isArray(node.capabilities) || node.capabilities.includes(p.cap), node.driver, p.cap);
    },
  };
}

// ---- what every part shares ---------------------------------------------------

// A part: its heading, a read button, its change form (addForm), its job
// panel (a live region), a line for reading again after a change, and where
// its data go.
function part(id, title, readLabel, onRead, {wide = false} = {}) {
  const heading = h('h3', {id: `${id}-title`, tabindex: '-1'}, title);
  const box = h('div', {class: 'job-box', role: 'status', 'aria-live': 'polite', id: `${id}-job`});
  const note = h('p', {class: 'muted small reread', id: `${id}-note`, hidden: true});
  const data = h('div', {class: 'cfg-data', id: `${id}-data`});
  const readButton = h('button', {type: 'button', id: `${id}-read`, dataset: {key: `${id}-read`}, onclick: onRead}, readLabel);
  const el = h('section', {class: `cfg-part${wide ? ' wide' : ''}`, id, 'aria-labelledby': `${id}-title`},
    heading, h('p', {class: 'actions'}, readButton), box, note, data);
  let capable = true;
  const controls = [readButton.parentNode, data, note]; // and the forms
  return {
    el, heading, box, note, data,
    addForm(form) { el.insertBefore(form, box); controls.push(form); },
    // Without the capability: the part's controls and data go and its panel
    // says why, until the driver changes (each control then gets back the
    // visibility it had).
    setCapable(yes, driver, cap) {
      if (yes === capable) return;
      capable = yes;
      el.classList.toggle('cap-missing', !yes);
      for (const c of controls) {
        if (!yes) {
          c.dataset.capWasHidden = c.hidden ? '1' : '';
          c.hidden = true;
        } else {
          c.hidden = c.dataset.capWasHidden === '1';
        }
      }
      if (yes) replace(box);
      else replace(box, unsupportedPanel(`The ${driver} driver has no \u2018${cap}\u2019 capability: there is nothing to read or change here.`));
    },
    // A change is under way: its panel in sight (the form may be long).
    showBox() { box.scrollIntoView({block: 'nearest'}); },
  };
}

// The BMC has no such service: say so in the part's panel, calmly (the
// job panel already does, see jobs.js), and drop what can only fail.
function showUnsupported(p, ...hide) {
  replace(p.data);
  for (const el of hide) el.hidden = true;
}

// After a change, read again without taking the change's panel (its outcome
// stays readable): the part's note line says what is happening.  Returns
// {run(), stop()}; run resolves with the finished read job or null.
function rereader(p, path, what) {
  let watch = null, gen = 0;
  const halt = () => {
    gen++;
    if (watch) watch.stop();
    watch = null;
  };
  return {
    async run() {
      halt();
      const mine = gen;
      p.note.hidden = false;
      p.note.textContent = `Reading ${what} again\u2026`;
      try {
        const r = await api('POST', path, {body: {}});
        if (mine !== gen) return null;
        watch = watchJob(r.job, {onUpdate: (j) => {
          p.note.textContent = `Reading ${what} again\u2026 ${j.progress || 0}%`;
        }});
        const j = await watch.done;
        watch = null;
        p.note.hidden = j.state === 'succeeded';
        if (j.state !== 'succeeded') p.note.replaceChildren(jobOutcome(j));
        return j;
      } catch (e) {
        if (mine === gen) replace(p.note, errorP(e));
        return null;
      }
    },
    stop: halt,
  };
}

// Apply now or at the next reset, as radio buttons.
function applyChoice(id, initial) {
  const radio = (v, text) => h('span', {class: 'radio'},
    h('input', {type: 'radio', name: id, id: `${id}-${v}`, value: v, checked: v === initial}),
    h('label', {for: `${id}-${v}`}, text));
  const el = h('fieldset', {class: 'apply'}, h('legend', {}, 'Apply'),
    radio('now', 'Now'), radio('on-reset', 'At the next reset'));
  return {el, get value() { return el.querySelector('input:checked')?.value || initial; }};
}

// A line in the part's panel about a form's own mistake (nothing was sent),
// and focus on the field to fix.
function formProblem(p, text, field) {
  replace(p.box, h('p', {class: 'error'}, h('strong', {}, text), ' Nothing was sent.'));
  field.focus();
}

// A failed change: words for what happened to this kind of change (or the
// usual ones), then underlayd's message.
function failure(j, words) {
  return h('p', {}, h('span', {class: 'outcome bad'},
    h('strong', {}, words || jobOutcome(j).querySelector('strong')?.textContent || 'Failed.'), ' ',
    h('span', {class: 'detail'}, j.error ? j.error.message : j.message)));
}

function valueText(v) {
  if (v === null || v === undefined) return '\u2014';
  if (v === '') return '(empty)';
  return String(v);
}

// Bytes the way drive labels count them (decimal): 1.92 TB.
export function bytesText(b) {
  if (typeof b !== 'number' || !Number.isFinite(b)) return '\u2014';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = b, i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3)).toLocaleString()}\u00A0${units[i]}`;
}

// Redfish health words (OK, Warning, Critical) as the status badges.
function healthBadge(health) {
  const s = String(health || '').toLowerCase();
  return statusBadge(['ok', 'warning', 'critical'].includes(s) ? s : 'unknown');
}

const th = (text) => h('th', {scope: 'col'}, text);

// ---- firmware -------------------------------------------------------------------

function firmwarePart(name, base, app) {
  let components = null; // the last list read
  const p = part('fw', 'Firmware', 'Read firmware', read);
  const runner = jobRunner(p.box, {onDone: () => app.refresh()});
  const ANY = 'Every component the image is for';
  const uri = h('input', {id: 'fw-uri', type: 'url', autocomplete: 'off', spellcheck: 'false', dataset: {key: 'fw-uri'},
    placeholder: 'http://repo.example/bios-2.6.bin', 'aria-describedby': 'fw-uri-help'});
  const target = h('select', {id: 'fw-target', dataset: {key: 'fw-target'}}, h('option', {value: ''}, ANY));
  const apply = applyChoice('fw-apply', 'now');
  const form = h('form', {class: 'cfg-form', id: 'fw-update', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); update(); }},
  h('fieldset', {}, h('legend', {}, 'Update from an image URI'),
    h('div', {class: 'field'}, h('label', {for: 'fw-uri'}, 'Image URI'), uri),
    h('p', {class: 'help', id: 'fw-uri-help'}, 'http, https, ftp, sftp, tftp or nfs: the BMC fetches the image itself. ' +
      'Read the firmware first to choose one component.'),
    h('div', {class: 'field'}, h('label', {for: 'fw-target'}, 'Component'), target),
    apply.el,
    h('button', {type: 'submit', class: 'danger', dataset: {key: 'fw-update'}}, 'Update firmware\u2026')));
  p.addForm(form);

  async function read() {
    const j = await runner.run('POST', `${base}/firmware`, {});
    if (!j) return;
    if (unsupported(j)) showUnsupported(p, form);
    else if (j.state === 'succeeded') {
      components = (j.result && j.result.components) || [];
      draw({});
    }
  }

  function draw(changed) {
    if (!components.length) {
      replace(p.data, h('p', {class: 'muted'}, 'The BMC lists no firmware components.'));
      return;
    }
    replace(p.data, h('div', {class: 'table-wrap'}, h('table', {class: 'firmware'},
      h('caption', {class: 'sr-only'}, `Firmware of ${name}`),
      h('thead', {}, h('tr', {}, th('Component'), th('Name'), th('Version'), th('Updateable'))),
      h('tbody', {}, components.map((c) => {
        const ch = changed[c.id];
        return h('tr', {dataset: {component: c.id}, class: ch ? 'changed' : null},
          h('th', {scope: 'row'}, c.id),
          h('td', {}, c.name || '\u2014'),
          h('td', {}, valueText(c.version),
            ch ? h('span', {class: 'was'}, h('span', {'aria-hidden': 'true'}, ' \u2714'), ` updated, was ${valueText(ch.from)}`) : null),
          h('td', {}, c.updateable === false ? 'No' : c.updateable ? 'Yes' : '\u2014'));
      })))));
    const keep = target.value;
    replace(target, h('option', {value: ''}, ANY),
      components.filter((c) => c.updateable !== false).map((c) => h('option', {value: c.id}, `${c.id} \u2014 ${c.name || c.id}`)));
    target.value = components.some((c) => c.id === keep) ? keep : '';
  }

  async function update() {
    const u = uri.value.trim();
    if (!/^(https?|s?ftp|tftp|nfs):\/\/[^\s]+$/i.test(u)) {
      formProblem(p, 'Enter the image\u2019s URI (http, https, ftp, sftp, tftp or nfs).', uri);
      return;
    }
    const t = target.value, now = apply.value === 'now';
    const comp = components && components.find((c) => c.id === t);
    const what = t ? `${t}${comp ? ` (${comp.name}, now version ${valueText(comp.version)})` : ''}` : 'the components the image is for';
    const ok = await app.confirm({
      title: `Update the firmware of ${name}?`,
      text: `The BMC fetches ${u} and flashes ${what}. ` +
        (now ? 'It applies now: the BMC or the host may restart by itself to finish, and must not lose power meanwhile. '
          : 'It is staged and applies at the next reset of the host, which underlay does not cause. ') +
        'An update can take many minutes; its progress shows here.',
      ok: 'Update firmware',
    });
    if (!ok) return;
    p.showBox();
    const body = {image_uri: u, apply: now ? 'now' : 'on-reset'};
    if (t) body.targets = [t];
    const j = await runner.run('POST', `${base}/firmware/update`, body, {outcome: updateOutcome});
    if (!j) return;
    if (unsupported(j)) showUnsupported(p, form);
    else if (j.state === 'succeeded' && j.result && j.result.after) {
      // The job read the versions again at its end: show them.
      const after = j.result.after;
      if (components) components = components.map((c) => (c.id in after ? {...c, version: after[c.id]} : c));
      else components = Object.entries(after).map(([id, version]) => ({id, name: id, version}));
      draw(j.result.changed || {});
    }
  }

  function updateOutcome(j) {
    const r = j.result || {};
    if (j.state === 'succeeded') {
      if (r.applies) return h('p', {}, h('span', {class: 'outcome ok'}, `Staged: the update applies ${r.applies}.`));
      const changed = Object.entries(r.changed || {});
      if (!changed.length) {
        return h('p', {}, h('span', {class: 'outcome ok'}, 'The BMC\u2019s update task completed.'), ' ',
          r.note || 'No component reports a new version yet (some apply at the next reset).');
      }
      return [
        h('p', {}, h('span', {class: 'outcome ok'},
          `Firmware updated: ${changed.length} component${changed.length === 1 ? '' : 's'} changed version.`)),
        h('ul', {class: 'changed-list'}, changed.map(([id, c]) => h('li', {dataset: {component: id}},
          h('strong', {}, id), `: ${valueText(c.from)} \u2192 `, h('strong', {}, valueText(c.to))))),
      ];
    }
    if (j.state === 'canceled') return null;
    const msg = (j.error && j.error.message) || '';
    const words = {
      rejected: 'The BMC could not apply the update: its update task failed.',
      timeout: /stalled/.test(msg)
        ? 'The update stopped making progress on the BMC (the task is left as it is there).'
        : 'The update did not finish within the job\u2019s time limit (the task goes on on the BMC).',
      invalid_argument: 'The BMC refused the update request.',
      conflict: 'Not possible now: another update may be running on this BMC.',
    }[j.error && j.error.code];
    return failure(j, words);
  }

  return {el: p.el, part: p, cap: 'firmware', stop: () => runner.stop()};
}

// ---- BIOS -------------------------------------------------------------------------

// Values worth offering for a setting (the BMC's registry is not in the read).
const OPPOSITE = {Enabled: 'Disabled', Disabled: 'Enabled', On: 'Off', Off: 'On', Yes: 'No', No: 'Yes'};

// The value as the BMC holds it: numbers and booleans stay typed.
function typedValue(text, current) {
  const t = text.trim();
  if (typeof current === 'number' && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (typeof current === 'boolean' && /^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  return text;
}

function biosPart(name, base, app) {
  let bios = null;
  const p = part('bios', 'BIOS settings', 'Read BIOS', read);
  const runner = jobRunner(p.box, {onDone: () => app.refresh()});
  const again = rereader(p, `${base}/bios`, 'the BIOS settings');
  const filter = h('input', {type: 'search', id: 'bios-filter', autocomplete: 'off', spellcheck: 'false',
    dataset: {key: 'bios-filter'}, oninput: applyFilter});
  const count = h('p', {class: 'muted small', id: 'bios-count', 'aria-live': 'polite'});
  const attr = h('select', {id: 'bios-attr', dataset: {key: 'bios-attr'}, onchange: suggest});
  const valueIn = h('input', {id: 'bios-value', autocomplete: 'off', spellcheck: 'false', list: 'bios-values',
    dataset: {key: 'bios-value'}, 'aria-describedby': 'bios-value-now'});
  const valueList = h('datalist', {id: 'bios-values'});
  const valueNow = h('p', {class: 'help', id: 'bios-value-now'});
  const apply = applyChoice('bios-apply', 'on-reset');
  const form = h('form', {class: 'cfg-form', id: 'bios-change', novalidate: true, hidden: true,
    onsubmit: (e) => { e.preventDefault(); change(); }},
  h('fieldset', {}, h('legend', {}, 'Change a setting'),
    h('div', {class: 'field'}, h('label', {for: 'bios-attr'}, 'Setting'), attr),
    h('div', {class: 'field'}, h('label', {for: 'bios-value'}, 'New value'), valueIn, valueList),
    valueNow,
    apply.el,
    h('button', {type: 'submit', class: 'danger', dataset: {key: 'bios-change'}}, 'Change\u2026')));
  p.addForm(form);

  async function read() {
    const j = await runner.run('POST', `${base}/bios`, {});
    if (!j) return;
    if (unsupported(j)) showUnsupported(p, form);
    else if (j.state === 'succeeded') draw(j.result);
  }

  async function readAgain() {
    const j = await again.run();
    if (j && j.state === 'succeeded') draw(j.result);
  }

  function draw(r) {
    bios = {attributes: {}, pending: {}, messages: [], ...r};
    const names = [...new Set([...Object.keys(bios.attributes), ...Object.keys(bios.pending || {})])]
      .sort((a, b) => a.localeCompare(b));
    const pendingNames = Object.keys(bios.pending || {});
    const applyTimes = bios.apply_times || [];
    replace(p.data,
      h('p', {class: 'muted'}, `${names.length} settings`,
        bios.registry ? ` (attribute registry ${bios.registry})` : ' (the BMC publishes no attribute registry: it alone checks values)',
        '. ', applyTimes.length ? `The BMC can apply changes: ${applyTimes.join(', ')}. ` : '',
        bios.applied_at ? ['Last applied ', timeEl(bios.applied_at), '.'] : null),
      pendingNames.length
        ? h('p', {class: 'pending-note', id: 'bios-pending'}, h('span', {'aria-hidden': 'true'}, '\u25B6 '),
          `${pendingNames.length} change${pendingNames.length === 1 ? '' : 's'} pending: ${pendingNames.join(', ')}. `,
          'They apply at the next reset of the host.')
        : h('p', {class: 'muted', id: 'bios-pending'}, 'No change is pending.'),
      h('div', {class: 'filters'}, h('label', {for: 'bios-filter'}, 'Filter settings'), filter, count),
      h('div', {class: 'table-wrap'}, h('table', {class: 'bios'},
        h('caption', {class: 'sr-only'}, `BIOS settings of ${name}: current and pending values`),
        h('thead', {}, h('tr', {}, th('Setting'), th('Current value'), th('Pending (next reset)'))),
        h('tbody', {}, names.map((n) => {
          const pending = Object.prototype.hasOwnProperty.call(bios.pending || {}, n);
          return h('tr', {dataset: {attr: n}, class: pending ? 'pending' : null},
            h('th', {scope: 'row'}, n),
            h('td', {}, valueText(bios.attributes[n])),
            h('td', {}, pending
              ? h('span', {class: 'pending-value'}, h('span', {'aria-hidden': 'true'}, '\u25B6 '),
                valueText(bios.pending[n]), h('span', {class: 'sr-only'}, ' (pending)'))
              : ''));
        })))),
      h('h4', {}, 'The BMC\u2019s report on the last apply'),
      messagesList(bios.messages));
    applyFilter();
    // The change form: every setting, the one chosen kept.
    const keep = attr.value;
    replace(attr, names.map((n) => h('option', {value: n}, n)));
    if (names.includes(keep)) attr.value = keep;
    form.hidden = !names.length;
    suggest();
  }

  function applyFilter() {
    const q = filter.value.trim().toLowerCase();
    const rows = [...p.data.querySelectorAll('table.bios tbody tr')];
    let shown = 0;
    for (const tr of rows) {
      const hit = !q || tr.textContent.toLowerCase().includes(q);
      tr.hidden = !hit;
      if (hit) shown++;
    }
    count.textContent = q ? `${shown} of ${rows.length} settings match.` : '';
  }

  // The current value next to the field, and likely values to pick from.
  function suggest() {
    if (!bios) return;
    const n = attr.value, cur = bios.attributes[n];
    const pend = bios.pending && n in bios.pending ? bios.pending[n] : undefined;
    valueNow.textContent = `Now ${valueText(cur)}${pend !== undefined ? `, ${valueText(pend)} pending` : ''}.`;
    const values = new Set();
    if (typeof cur === 'boolean') ['true', 'false'].forEach((v) => values.add(v));
    if (typeof cur === 'string' && OPPOSITE[cur]) values.add(OPPOSITE[cur]);
    for (const v of [cur, pend]) if (v !== null && v !== undefined && v !== '') values.add(String(v));
    replace(valueList, [...values].map((v) => h('option', {value: v})));
  }

  async function change() {
    const n = attr.value;
    if (!n) return;
    if (!valueIn.value.trim() && typeof bios.attributes[n] !== 'string') {
      formProblem(p, `Enter the new value of ${n}.`, valueIn);
      return;
    }
    const cur = bios.attributes[n];
    const value = typedValue(valueIn.value, cur);
    const now = apply.value === 'now';
    const ok = await app.confirm({
      title: `Change ${n} on ${name}?`,
      text: `${n}: ${valueText(cur)} \u2192 ${valueText(value)}. ` + (now
        ? 'Apply now: where the BMC cannot apply BIOS settings at once, underlay resets the host (or powers it on) ' +
          'to apply them, so the host may reboot and everything running on it stops. The value is then read back.'
        : 'Staged: it applies at the next reset of the host, which underlay does not cause.'),
      ok: now ? 'Change and apply now' : 'Stage the change',
    });
    if (!ok) return;
    p.showBox();
    const j = await runner.run('POST', `${base}/bios/settings`, {attributes: {[n]: value}, apply: now ? 'now' : 'on-reset'},
      {outcome: setOutcome});
    if (!j) return;
    if (unsupported(j)) showUnsupported(p, form);
    // What the BMC holds now (a refused value may have taken partly).
    else if (j.state === 'succeeded' || (j.result && j.error && j.error.code === 'rejected')) readAgain();
  }

  function setOutcome(j) {
    const r = j.result || {};
    const pairs = (o) => Object.entries(o || {}).map(([k, v]) => `${k} = ${valueText(v)}`).join(', ');
    if (j.state === 'succeeded') {
      if (r.unchanged) return h('p', {}, h('span', {class: 'outcome ok'}, `Already set: ${pairs(r.requested)}. Nothing was written.`));
      if (r.staged) {
        return h('p', {}, h('span', {class: 'outcome ok', dataset: {result: 'staged'}},
          `Staged: ${pairs(r.staged)}. It applies ${r.applies || 'at the next reset'}.`));
      }
      return [h('p', {}, h('span', {class: 'outcome ok', dataset: {result: 'verified'}},
        `Applied and verified: ${pairs(r.requested)} (read back from the BMC).`)),
      r.messages && r.messages.length ? messagesList(r.messages) : null];
    }
    const code = j.error && j.error.code;
    const bad = Object.entries(r.not_applied || {});
    if (code === 'rejected' && bad.length) {
      return [
        h('p', {}, h('span', {class: 'outcome bad'}, h('strong', {},
          `The BIOS did not take ${bad.length} of ${Object.keys(r.requested || {}).length || bad.length} settings.`))),
        h('div', {class: 'table-wrap'}, h('table', {class: 'not-applied'},
          h('caption', {class: 'sr-only'}, 'Settings the BIOS did not take'),
          h('thead', {}, h('tr', {}, th('Setting'), th('Wanted'), th('Now'), th('The BMC says'))),
          h('tbody', {}, bad.map(([k, v]) => h('tr', {dataset: {attr: k}},
            h('th', {scope: 'row'}, k), h('td', {}, valueText(v.wanted)), h('td', {}, valueText(v.current)),
            h('td', {}, v.message || '\u2014')))))),
      ];
    }
    if (code === 'invalid_argument') {
      // "node X: 2 BIOS changes refused: A=B is not allowed (...); C is read-only"
      const m = /refused: (.*)$/.exec((j.error && j.error.message) || '');
      if (m) {
        return [
          h('p', {}, h('span', {class: 'outcome bad'}, h('strong', {}, 'Refused before anything was written:'))),
          h('ul', {class: 'refusals'}, m[1].split('; ').map((x) => h('li', {}, x))),
        ];
      }
    }
    return null; // the usual words
  }

  return {el: p.el, part: p, cap: 'bios', stop() { runner.stop(); again.stop(); }};
}

// The BMC's messages on an apply: [{id, message, severity, attributes}].
function messagesList(messages) {
  if (!messages || !messages.length) return h('p', {class: 'muted'}, 'No messages.');
  return h('ul', {class: 'bmc-messages'}, messages.map((m) => {
    const sev = String(m.severity || '').toLowerCase();
    return h('li', {},
      statusBadge(sev === 'ok' ? 'ok' : sev === 'warning' ? 'warning' : sev === 'critical' ? 'critical' : 'info'), ' ',
      m.message || m.id || '', m.id ? h('span', {class: 'detail'}, ` (${m.id})`) : null);
  }));
}

// ---- storage ----------------------------------------------------------------------

function storagePart(name, base, app) {
  let storage = null;
  const p = part('raid', 'Storage (RAID)', 'Read storage', read, {wide: true});
  const runner = jobRunner(p.box, {onDone: () => app.refresh()});
  const again = rereader(p, `${base}/raid`, 'the storage');

  async function read() {
    const j = await runner.run('POST', `${base}/raid`, {});
    if (!j) return;
    if (unsupported(j)) showUnsupported(p);
    else if (j.state === 'succeeded') draw(j.result);
  }

  async function readAgain() {
    const j = await again.run();
    if (j && j.state === 'succeeded') {
      const hadFocus = p.el.contains(document.activeElement) || document.activeElement === document.body;
      draw(j.result);
      // The button that asked (a deleted volume's) may be gone.
      if (hadFocus && (!document.activeElement || document.activeElement === document.body)) p.heading.focus();
    }
  }

  function draw(r) {
    storage = r || {};
    const ctrls = storage.controllers || [];
    if (!ctrls.length) {
      replace(p.data, h('p', {class: 'muted'}, 'The BMC reports no storage controller.'));
      return;
    }
    replace(p.data, ctrls.map((c, ci) => controller(c, ci)));
  }

  function controller(c, ci) {
    const drives = c.drives || [], volumes = c.volumes || [], types = c.raid_types || [];
    const title = `${c.name || `Controller ${c.id}`}${c.model ? ` (${c.model})` : ''}`;
    return h('section', {class: 'controller', 'aria-labelledby': `raid-${ci}-title`, dataset: {controller: c.id}},
      h('h4', {id: `raid-${ci}-title`}, title),
      h('dl', {class: 'facts'},
        h('dt', {}, 'Health'), h('dd', {}, healthBadge(c.health)),
        h('dt', {}, 'Firmware'), h('dd', {}, valueText(c.firmware)),
        h('dt', {}, 'RAID levels it can build'), h('dd', {}, types.length ? types.join(', ') : 'none reported')),
      h('h5', {}, `Drives (${drives.length})`),
      drives.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'drives'},
        h('caption', {class: 'sr-only'}, `Drives of ${title}`),
        h('thead', {}, h('tr', {}, th('Drive'), th('Model'), th('Media'), th('Capacity'), th('Health'), th('Volume'))),
        h('tbody', {}, drives.map((d) => h('tr', {dataset: {drive: d.id}},
          h('th', {scope: 'row'}, d.id),
          h('td', {}, d.model || '\u2014', d.serial ? h('span', {class: 'detail'}, ` ${d.serial}`) : null),
          h('td', {}, [d.media, d.protocol].filter(Boolean).join(' ') || '\u2014'),
          h('td', {class: 'num', title: typeof d.capacity_bytes === 'number' ? `${d.capacity_bytes.toLocaleString()} bytes` : null},
            bytesText(d.capacity_bytes)),
          h('td', {}, healthBadge(d.health), d.state && d.state !== 'Enabled' ? ` ${d.state}` : ''),
          h('td', {}, d.volumes && d.volumes.length ? d.volumes.join(', ') : h('span', {class: 'muted'}, 'free'))))))) : null,
      h('h5', {}, `Volumes (${volumes.length})`),
      volumes.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'volumes'},
        h('caption', {class: 'sr-only'}, `Volumes of ${title}`),
        h('thead', {}, h('tr', {}, th('Volume'), th('Name'), th('RAID'), th('Capacity'), th('Drives'), th('Health'),
          h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Delete')))),
        h('tbody', {}, volumes.map((v) => h('tr', {dataset: {volume: v.id}},
          h('th', {scope: 'row'}, v.id),
          h('td', {}, v.name || '\u2014'),
          h('td', {}, v.raid_type || '\u2014'),
          h('td', {class: 'num'}, bytesText(v.capacity_bytes)),
          h('td', {}, (v.drives || []).join(', ') || '\u2014'),
          h('td', {}, healthBadge(v.health)),
          h('td', {}, h('button', {type: 'button', class: 'danger small', dataset: {key: `raid-del-${ci}-${v.id}`},
            'aria-label': `Delete volume ${v.id}${v.name ? ` (${v.name})` : ''}`,
            onclick: () => deleteVolume(c, v)}, 'Delete\u2026'))))))) : h('p', {class: 'muted'}, 'No volumes.'),
      types.length ? createForm(c, ci) : null);
  }

  function createForm(c, ci) {
    const free = (c.drives || []).filter((d) => !(d.volumes && d.volumes.length) &&
      String(d.health || '').toLowerCase() !== 'critical' && d.state !== 'Absent');
    const id = `raid-${ci}`;
    const nameIn = h('input', {id: `${id}-name`, autocomplete: 'off', spellcheck: 'false', maxlength: '64', dataset: {key: `${id}-name`}});
    const types = c.raid_types || [];
    const level = h('select', {id: `${id}-level`, dataset: {key: `${id}-level`}}, types.map((t) => h('option', {value: t}, t)));
    if (types.includes('RAID1')) level.value = 'RAID1';
    const boxes = free.map((d) => h('span', {class: 'check'},
      h('input', {type: 'checkbox', id: `${id}-drive-${d.id}`, value: d.id, dataset: {key: `${id}-drive-${d.id}`}}),
      h('label', {for: `${id}-drive-${d.id}`},
        `Drive ${d.id}: ${[d.media, bytesText(d.capacity_bytes), d.model].filter(Boolean).join(' ')}`)));
    return h('form', {class: 'cfg-form', id: `${id}-create`, novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      const chosen = [...e.target.querySelectorAll('input[type="checkbox"]:checked')].map((x) => x.value);
      createVolume(c, nameIn, level.value, chosen);
    }},
    h('fieldset', {}, h('legend', {}, 'Create a volume'),
      h('div', {class: 'field'}, h('label', {for: `${id}-name`}, 'Name'), nameIn),
      h('div', {class: 'field'}, h('label', {for: `${id}-level`}, 'RAID level'), level),
      free.length
        ? h('fieldset', {class: 'drives-choice'}, h('legend', {}, 'Drives (unused ones)'), boxes)
        : h('p', {class: 'muted'}, 'Every drive is in use: delete a volume to free some.'),
      h('button', {type: 'submit', class: 'danger', disabled: !free.length, dataset: {key: `${id}-create`}}, 'Create volume\u2026')));
  }

  async function createVolume(c, nameIn, level, drives) {
    const vname = nameIn.value.trim();
    if (!vname) {
      formProblem(p, 'Give the volume a name.', nameIn);
      return;
    }
    if (!drives.length) {
      formProblem(p, 'Choose the drives the volume is built on.', nameIn.form.querySelector('input[type="checkbox"]') || nameIn);
      return;
    }
    const sizes = (c.drives || []).filter((d) => drives.includes(d.id)).map((d) => bytesText(d.capacity_bytes));
    const ok = await app.confirm({
      title: `Create the ${level} volume \u201C${vname}\u201D on ${name}?`,
      text: `The controller builds it over drive${drives.length === 1 ? '' : 's'} ${drives.join(', ')} (${sizes.join(', ')}): ` +
        'anything stored on them now is lost. The new volume is read back to check its level and drives.',
      ok: 'Create volume',
    });
    if (!ok) return;
    p.showBox();
    const body = {name: vname, raid_type: level, drives};
    if (c.id) body.controller = c.id;
    const j = await runner.run('POST', `${base}/raid/volumes`, body, {outcome: raidOutcome});
    if (j && j.state === 'succeeded') readAgain();
    else if (j && unsupported(j)) showUnsupported(p);
  }

  async function deleteVolume(c, v) {
    const ok = await app.confirm({
      title: `Delete volume ${v.id}${v.name ? ` (\u201C${v.name}\u201D)` : ''} on ${name}?`,
      text: `All data on this ${v.raid_type || ''} volume of ${bytesText(v.capacity_bytes)} is lost, and it cannot be undone. ` +
        `Its drives (${(v.drives || []).join(', ') || 'as the controller knows them'}) become free. ` +
        'Anything the host runs from it stops working.',
      ok: 'Delete volume',
    });
    if (!ok) return;
    p.showBox();
    const q = c.id ? `?controller=${enc(c.id)}` : '';
    const j = await runner.run('DELETE', `${base}/raid/volumes/${enc(v.id)}${q}`, undefined, {outcome: raidOutcome});
    if (j && j.state === 'succeeded') readAgain();
    else if (j && unsupported(j)) showUnsupported(p);
  }

  function raidOutcome(j) {
    const r = j.result || {};
    if (j.state === 'succeeded') {
      if (r.volume) {
        const v = r.volume;
        return h('p', {}, h('span', {class: 'outcome ok'},
          `Volume ${v.id} \u201C${v.name}\u201D created and verified: ${v.raid_type}, ${bytesText(v.capacity_bytes)}, drives ${(v.drives || []).join(', ')}.`));
      }
      if (r.deleted) return h('p', {}, h('span', {class: 'outcome ok'}, `Volume ${r.deleted} deleted; it is gone from the controller.`));
      return null;
    }
    const words = {
      rejected: 'The BMC refused the volume change, or it did not take.',
      conflict: 'Not possible: a drive is already in use (read the storage again).',
      invalid_argument: 'The controller cannot do this (level, drives or name).',
    }[j.error && j.error.code];
    return words ? failure(j, words) : null;
  }

  return {el: p.el, part: p, cap: 'raid', stop() { runner.stop(); again.stop(); }};
}
