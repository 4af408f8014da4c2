// admin.js - enrolling a node (#/enrol) and editing one's endpoint,
// credentials and labels (#/edit/NAME).  Both need an admin token; a lower
// one is told the role it needs (api.js) when it submits.
//
// Editing is optimistic: the form remembers the node's version (the ETag of
// its GET) and sends it as If-Match; when someone else changed the node in
// between, underlayd answers 412 and the form says so, reloads the current
// values and keeps nothing of the stale edit.
import {api, enc} from './api.js';
import {h, replace} from './util.js';

// "rack=r1, site=ams" or one per line -> {rack: 'r1', site: 'ams'}; throws
// naming the bad entry.
export function parseLabels(text) {
  const out = {};
  for (const raw of text.split(/[\n,]/)) {
    const item = raw.trim();
    if (!item) continue;
    const i = item.indexOf('=');
    if (i <= 0) throw new Error(`Labels: "${item}" is not key=value.`);
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

export const labelsText = (labels) => Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join('\n');

function field(id, label, input, help) {
  return h('div', {class: 'field'},
    h('label', {for: id}, label), input,
    help ? h('p', {class: 'help small', id: `${id}-help`}, help) : null);
}

function errorBox(box, e) {
  replace(box, h('p', {class: 'error', role: 'alert'},
    h('strong', {}, e.message), ' ', e.detail ? h('span', {class: 'detail'}, e.detail) : null));
}

function inputs(prefix) {
  const mk = (id, attrs = {}) => h('input', {id: `${prefix}-${id}`, autocomplete: 'off', spellcheck: 'false', ...attrs});
  return {
    endpoint: mk('endpoint', {placeholder: 'ipmi://10.0.0.5, redfish://bmc1, fake://x'}),
    username: mk('username'),
    password: mk('password', {type: 'password', autocomplete: 'new-password'}),
    labels: h('textarea', {id: `${prefix}-labels`, rows: '3', spellcheck: 'false', placeholder: 'rack=rack1\nsite=ams'}),
  };
}

// ---- #/enrol ------------------------------------------------------------------

function mountEnrol(container) {
  const f = inputs('enrol');
  const name = h('input', {id: 'enrol-name', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'rack1-n01'});
  const driver = h('select', {id: 'enrol-driver'},
    h('option', {value: ''}, 'From the endpoint'), ['ipmi', 'redfish', 'fake'].map((d) => h('option', {value: d}, d)));
  const options = h('textarea', {id: 'enrol-options', rows: '2', spellcheck: 'false', placeholder: '{"sensors": 4}'});
  const result = h('div', {id: 'enrol-result', role: 'status', 'aria-live': 'polite'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Enrol node');

  async function onSubmit(ev) {
    ev.preventDefault();
    const body = {name: name.value.trim(), endpoint: f.endpoint.value.trim()};
    try {
      if (!body.name) throw new Error('Name: enter the node\u2019s name.');
      if (!body.endpoint) throw new Error('Endpoint: enter the BMC\u2019s address.');
      if (driver.value) body.driver = driver.value;
      if (f.username.value) body.username = f.username.value;
      if (f.password.value) body.password = f.password.value;
      const labels = parseLabels(f.labels.value);
      if (Object.keys(labels).length) body.labels = labels;
      if (options.value.trim()) {
        try {
          body.options = JSON.parse(options.value);
        } catch {
          throw new Error('Driver options: not valid JSON (e.g. {"sensors": 4}).');
        }
      }
    } catch (e) {
      errorBox(result, e);
      return;
    }
    submit.disabled = true;
    replace(result, h('p', {}, 'Sending\u2026'));
    try {
      const n = await api('POST', '/nodes', {body});
      replace(result, h('p', {class: 'outcome ok', dataset: {node: n.name}},
        `Enrolled ${n.name} (${n.driver}, ${n.endpoint}). `,
        h('a', {href: `#/node/${enc(n.name)}`}, `Open ${n.name}`), ' \u00B7 ',
        h('a', {href: `#/edit/${enc(n.name)}`}, 'Edit it')));
      name.value = '';
      f.password.value = '';
      name.focus();
    } catch (e) {
      if (e.code === 'conflict') e.message = `A node named ${body.name} is already enrolled: choose another name, or edit that node.`;
      if (e.name !== 'AbortError') errorBox(result, e);
    } finally {
      submit.disabled = false;
    }
  }

  container.append(
    h('h1', {}, 'Enrol a node'),
    h('p', {class: 'lead'}, 'Adds a BMC to underlay (needs an admin token). The password is stored encrypted and never shown again. ',
      'The poller starts reading the node within about 30 seconds.'),
    h('form', {class: 'admin-form', id: 'enrol-form', onsubmit: onSubmit, novalidate: true},
      field('enrol-name', 'Name', name, 'Letters, digits, \u2018.\u2019, \u2018-\u2019 and \u2018_\u2019.'),
      field('enrol-endpoint', 'Endpoint', f.endpoint, 'ipmi://host[:port], redfish://host[:port], https://host, fake://name'),
      field('enrol-driver', 'Driver', driver),
      field('enrol-username', 'BMC user', f.username),
      field('enrol-password', 'BMC password', f.password),
      field('enrol-labels', 'Labels', f.labels, 'key=value, one a line or separated by commas (rack, site, role\u2026)'),
      field('enrol-options', 'Driver options (JSON, optional)', options),
      h('div', {}, submit)),
    result);
  return {refresh: async () => {}, unmount: () => {}};
}

// ---- #/edit/NAME ----------------------------------------------------------------

function mountEdit(container, name) {
  const f = inputs('edit');
  f.password.placeholder = 'unchanged';
  const title = h('h1', {}, `Edit ${name}`);
  const version = h('p', {class: 'muted', id: 'edit-version'});
  const result = h('div', {id: 'edit-result', role: 'status', 'aria-live': 'polite'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Save changes');
  let node = null, etag = '';
  let ctl = new AbortController();

  async function load() {
    ctl.abort();
    ctl = new AbortController();
    const r = await api('GET', `/nodes/${enc(name)}`, {etag: true, signal: ctl.signal});
    node = r.body;
    etag = r.etag;
    f.endpoint.value = node.endpoint || '';
    f.username.value = node.username || '';
    f.password.value = '';
    f.labels.value = labelsText(node.labels);
    version.textContent = `Version ${node.version} (driver ${node.driver}). Saving checks that nobody changed the node since this form was loaded.`;
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    if (!node) return;
    const body = {};
    let labels;
    try {
      labels = parseLabels(f.labels.value);
    } catch (e) {
      errorBox(result, e);
      return;
    }
    if (f.endpoint.value.trim() !== (node.endpoint || '')) body.endpoint = f.endpoint.value.trim();
    if (f.username.value !== (node.username || '')) body.username = f.username.value;
    if (f.password.value) body.password = f.password.value;
    // A merge patch: changed and new keys set, removed keys null.
    const old = node.labels || {}, lp = {};
    for (const [k, v] of Object.entries(labels)) if (old[k] !== v) lp[k] = v;
    for (const k of Object.keys(old)) if (!Object.hasOwn(labels, k)) lp[k] = null;
    if (Object.keys(lp).length) body.labels = lp;
    if (!Object.keys(body).length) {
      replace(result, h('p', {}, 'Nothing changed.'));
      return;
    }
    submit.disabled = true;
    replace(result, h('p', {}, 'Saving\u2026'));
    try {
      const r = await api('PATCH', `/nodes/${enc(name)}`, {body, etag: true, headers: etag ? {'If-Match': etag} : {}});
      node = r.body;
      etag = r.etag;
      await load();
      replace(result, h('p', {class: 'outcome ok'}, `Saved: ${Object.keys(body).join(', ')} of ${name} (now version ${node.version}).`));
    } catch (e) {
      if (e.status === 412) {
        // Someone else changed it: show what is there now.
        try { await load(); } catch (e2) { errorBox(result, e2); return; }
        replace(result, h('p', {class: 'error', role: 'alert', id: 'edit-stale'},
          h('strong', {}, `${name} was changed by someone else since this form was loaded; nothing was saved.`), ' ',
          `The form now shows the current values (version ${node.version}): make your change again.`));
      } else if (e.name !== 'AbortError') {
        errorBox(result, e);
      }
    } finally {
      submit.disabled = false;
    }
  }

  container.append(
    h('p', {class: 'crumbs'}, h('a', {href: `#/node/${enc(name)}`}, `\u2190 ${name}`)),
    title, version,
    h('form', {class: 'admin-form', id: 'edit-form', onsubmit: onSubmit, novalidate: true},
      field('edit-endpoint', 'Endpoint', f.endpoint),
      field('edit-username', 'BMC user', f.username),
      field('edit-password', 'BMC password', f.password, 'Leave empty to keep the stored password.'),
      field('edit-labels', 'Labels', f.labels, 'key=value, one a line; remove a line to remove that label.'),
      h('div', {}, submit, ' ', h('button', {type: 'button', onclick: () => load().then(() => replace(result), (e) => errorBox(result, e))}, 'Reload'))),
    result);
  load().catch((e) => { if (e.name !== 'AbortError') errorBox(result, e); });
  return {refresh: async () => {}, unmount: () => ctl.abort()};
}

export function mount(container, params) {
  return params.edit ? mountEdit(container, params.edit) : mountEnrol(container);
}
