// console.js - the node page's serial console: a terminal (xterm.js, served
// by underlayd from web/vendor/xterm/, installed by scripts/deps.sh) over the
// WebSocket GET /api/v1/nodes/NAME/console, the same one `underlay console`
// uses.  The daemon owns the Serial-over-LAN session; the first client types,
// later ones watch read-only (the status line says which, and who holds it).
//
// A browser's WebSocket cannot send an Authorization header, so the token
// travels as the subprotocol "bearer.TOKEN" beside "underlay.console" (the
// server answers with "underlay.console" only).
import {session, enc} from './api.js';
import {h, replace, section} from './util.js';

const XTERM_JS = 'vendor/xterm/xterm.js';
const XTERM_CSS = 'vendor/xterm/xterm.css';

let xtermLoad = null; // one load per page

// Load the UMD build once (it defines window.Terminal); rejects with a
// message an operator can act on when the files are not installed.
function loadXterm() {
  if (window.Terminal) return Promise.resolve(window.Terminal);
  if (xtermLoad) return xtermLoad;
  xtermLoad = new Promise((resolve, reject) => {
    const css = h('link', {rel: 'stylesheet', href: XTERM_CSS});
    document.head.append(css);
    const s = h('script', {src: XTERM_JS});
    s.addEventListener('load', () => (window.Terminal ? resolve(window.Terminal)
      : reject(new Error('xterm.js loaded but defined no Terminal'))));
    s.addEventListener('error', () => {
      xtermLoad = null;
      s.remove();
      reject(new Error('The terminal component (xterm.js) is not installed on this server: run scripts/deps.sh, which puts it in web/vendor/xterm/.'));
    });
    document.head.append(s);
  });
  return xtermLoad;
}

// consoleSection(name) -> {el, setNode(node), stop()}
export function consoleSection(name) {
  const status = h('p', {class: 'muted', id: 'console-status', role: 'status', 'aria-live': 'polite'},
    'Not connected.');
  const screen = h('div', {class: 'console-screen', id: 'console-screen', hidden: true});
  const openBtn = h('button', {type: 'button', id: 'console-open', dataset: {key: 'console-open'},
    onclick: () => open(false)}, 'Open console');
  const watchBtn = h('button', {type: 'button', id: 'console-watch', dataset: {key: 'console-watch'},
    onclick: () => open(true)}, 'Watch only');
  const closeBtn = h('button', {type: 'button', id: 'console-close', dataset: {key: 'console-close'}, hidden: true,
    onclick: () => close('You left the console.')}, 'Leave console');
  const note = h('p', {class: 'muted', hidden: true}, 'This node\u2019s BMC has no serial console underlayd can reach.');
  const tools = h('p', {class: 'actions-row'}, openBtn, ' ', watchBtn, ' ', closeBtn);
  const el = section('console', 'Serial console', tools, note, status, screen, {wide: true});
  let ws = null;
  let term = null;

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = cls || 'muted';
  }

  function connected(on) {
    openBtn.hidden = on;
    watchBtn.hidden = on;
    closeBtn.hidden = !on;
  }

  async function open(view) {
    if (ws) return;
    let Terminal;
    try {
      Terminal = await loadXterm();
    } catch (e) {
      setStatus(e.message, 'error');
      return;
    }
    if (!term) {
      term = new Terminal({convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 14,
        theme: {background: '#0d1117', foreground: '#e6edf3'}});
      screen.hidden = false;
      term.open(screen);
      // What the terminal holds, as text (the browser test reads it; the
      // DOM rows are drawn on animation frames).
      screen.consoleText = () => {
        const b = term.buffer.active;
        const lines = [];
        for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
        return lines.join('\n');
      };
      term.onData((d) => {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(d));
      });
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/v1/nodes/${enc(name)}/console${view ? '?mode=view' : ''}`;
    setStatus('Connecting\u2026');
    let opened = false;
    let why = '';
    try {
      ws = new WebSocket(url, ['underlay.console', `bearer.${session.token}`]);
    } catch (e) {
      setStatus(`Cannot connect: ${e.message}`, 'error');
      return;
    }
    ws.binaryType = 'arraybuffer';
    connected(true);
    ws.onopen = () => { opened = true; };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') {
        term.write(new Uint8Array(ev.data));
        return;
      }
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === 'error') {
        why = m.message;
        setStatus(m.message, 'error');
      } else if (m.state === 'closed') {
        why = `Console closed: ${m.message}.`;
      } else {
        const held = m.mode === 'read-only' && m.held_by ? `; held by ${m.held_by}` : '';
        setStatus(`${m.message}${held}.`, m.mode === 'read-only' ? 'notice' : 'ok');
        if (m.mode === 'interactive') term.focus();
      }
    };
    ws.onclose = (ev) => {
      ws = null;
      connected(false);
      if (!opened) {
        // The handshake was refused: the browser hides the reason.
        setStatus(view ? 'No console session to watch, or the console was refused (`underlay console '
          + `${name}\` says why).` : `The console could not be opened (\`underlay console ${name}\` says why).`, 'error');
      } else if (!status.dataset.left) {
        setStatus(why || (ev.reason ? `Console closed: ${ev.reason}.` : 'Console closed.'), ev.code === 1000 ? 'muted' : 'error');
      }
      delete status.dataset.left;
    };
  }

  function close(text) {
    if (!ws) return;
    status.dataset.left = '1';
    setStatus(text);
    ws.close(1000, 'bye');
  }

  return {
    el,
    setNode(node) {
      const ok = node.console !== false;
      tools.hidden = !ok;
      note.hidden = ok;
      if (!ok) replace(status);
    },
    stop() {
      if (ws) {
        ws.onclose = null;
        ws.close(1000, 'bye');
        ws = null;
      }
      if (term) term.dispose();
      term = null;
    },
  };
}
