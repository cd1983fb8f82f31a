// The bluegreen status page: preact + htm, served from the package (no build step). Reads /api/session,
// /api/status and /api/history, then follows /api/events (paused while the tab is hidden).
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const COLOURS = ['blue', 'green'];
const short = (sha) => (sha ? sha.slice(0, 12) : '');

class SignedOut extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  if (response.status === 401) throw new SignedOut();
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { hint: body.hint });
  return body;
}

const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const ago = seconds < 60 ? 'just now' : seconds < 3600 ? `${Math.round(seconds / 60)} min ago` : seconds < 86400 ? `${Math.round(seconds / 3600)} h ago` : `${Math.round(seconds / 86400)} d ago`;
  return html`<time datetime=${iso} title=${date.toLocaleString()}>${ago}</time>`;
}

const Revision = ({ sha }) => (sha ? html`<code title=${sha}>${short(sha)}</code>` : html`<span class="muted">none</span>`);

function Live({ status }) {
  if (status.live) return html`<p class="live live-${status.live}"><span class="swatch" aria-hidden="true"></span><strong>${status.live} is live</strong> <span class="muted">(${status.provider})</span></p>`;
  if (status.liveError) return html`<p class="live unknown" role="alert"><strong>The live colour could not be read:</strong> ${status.liveError} <span class="muted">(${status.provider})</span></p>`;
  return html`<p class="live unknown"><strong>No colour is live yet</strong> <span class="muted">(${status.provider})</span></p>`;
}

/** The schema guard's facts, as `bluegreen status` says them: nothing before a migrate recorded a version. */
function Schema({ schema }) {
  if (!schema || schema.database === null) return '';
  const ranges = Object.entries(schema.compatible).map(([colour, range]) => `${colour} works with ${range}`);
  return html`<p class="schema">database schema version: ${schema.database}${ranges.length ? ` (${ranges.join(', ')})` : ''}</p>`;
}

function ColourCard({ c, live, deployedBy, mayFlip, onFlip }) {
  const isLive = c.colour === live;
  return html`<section class=${`colour colour-${c.colour}`} aria-labelledby=${`h-${c.colour}`}>
    <h2 id=${`h-${c.colour}`}><span class="swatch" aria-hidden="true"></span>${c.colour} <span class=${isLive ? 'badge live-badge' : 'badge'}>${isLive ? 'live' : 'idle'}</span></h2>
    <dl>
      <dt>Deployed</dt><dd>${c.deployed ? html`<${Revision} sha=${c.deployed.revision} /> ${deployedBy ? `by ${deployedBy} ` : ''}${when(c.deployed.at)}${c.deployed.release ? html`<br /><span class="muted">release ${c.deployed.release}</span>` : ''}` : html`<span class="muted">never deployed</span>`}</dd>
      <dt>Serving</dt><dd>${c.serving ? html`<${Revision} sha=${c.serving} />` : html`<span class="muted">${c.hosts.length > 1 ? 'hosts differ' : 'no REVISION'}</span>`}</dd>
      <dt>Health</dt><dd class=${c.healthy ? 'ok' : 'bad'}>${c.healthy ? '✓ healthy' : '✗ unhealthy'}: ${c.health}</dd>
      ${c.lock ? html`<dt>Lock</dt><dd class="lock">🔒 ${c.lock.purpose} by ${c.lock.holder} since ${when(c.lock.since)}</dd>` : ''}
    </dl>
    ${c.hosts.length > 0 &&
    html`<table class="hosts"><caption>${c.hosts.length === 1 ? 'Its host' : `Its ${c.hosts.length} hosts`}</caption>
      <thead><tr><th scope="col">Host</th><th scope="col">Serves</th><th scope="col">Health</th></tr></thead>
      <tbody>${c.hosts.map((host) => html`<tr key=${host.url}><td>${host.host}</td><td><${Revision} sha=${host.serving} />${c.deployed && host.serving && host.serving !== c.deployed.revision ? html` <strong class="bad">(not the deployed one)</strong>` : ''}</td><td class=${host.healthy ? 'ok' : 'bad'}>${host.healthy ? '✓' : '✗'} ${host.health}</td></tr>`)}</tbody>
    </table>`}
    ${mayFlip && !isLive && c.deployed && html`<button type="button" class="flip" onClick=${() => onFlip({ operation: 'flip', colour: c.colour })}>Flip to ${c.colour}</button>`}
  </section>`;
}

function describe(record) {
  switch (record.type) {
    case 'deploy':
      return html`deploy to <strong>${record.colour}</strong> <${Revision} sha=${record.revision} />${record.outcome === 'deployed' ? '' : html` <strong class="bad">failed</strong>: ${record.error ?? ''}`}`;
    case 'activate':
      return html`activate <strong>${record.colour}</strong> release ${record.release}`;
    case 'flip':
      return html`flip ${record.from ?? 'nothing'} → <strong>${record.to}</strong>: ${record.outcome === 'flipped' ? 'flipped' : html`<strong class="bad">${record.outcome}</strong>`}${record.error ? `: ${record.error}` : ''}`;
    default:
      return html`${record.type}${record.colour ? ` ${record.colour}` : ''}`;
  }
}

function History({ records }) {
  if (records.length === 0) return html`<p class="muted">No deploys or flips yet.</p>`;
  return html`<ol class="history">${records.map((r, i) => html`<li key=${i}>${when(r.at)} ${describe(r)} <span class="muted">by ${r.by}</span></li>`)}</ol>`;
}

function Activity({ operations }) {
  if (operations.length === 0) return html`<p class="muted">Nothing running. Deploys and flips appear here as they happen.</p>`;
  return operations.map(
    (op) => html`<article class="operation" key=${op.key}>
      <h3>${op.operation} ${op.operation === 'deploy' ? 'to' : '→'} ${op.colour} <span class="muted">by ${op.by}</span> ${op.done ? html`<span class=${op.done.ok ? 'ok' : 'bad'}>${op.done.ok ? '✓ done' : '✗ failed'}</span>` : html`<span class="running">running…</span>`}</h3>
      <pre>${op.lines.join('\n')}</pre>
      ${op.done && !op.done.ok && html`<p class="bad">${op.done.message}</p>`}
    </article>`,
  );
}

function Confirm({ ask, live, onClose }) {
  const dialog = useRef(null);
  const [plan, setPlan] = useState(undefined);
  const [problem, setProblem] = useState(undefined);
  const [sending, setSending] = useState(false);
  const path = ask.operation === 'flip' ? '/api/flip' : '/api/rollback';
  const body = ask.operation === 'flip' ? { colour: ask.colour } : {};
  useEffect(() => {
    dialog.current.showModal();
    post(path, { ...body, dryRun: true }).then(setPlan, (error) => setProblem(error));
  }, []);
  const go = async () => {
    setSending(true);
    try {
      await post(path, body);
      onClose();
    } catch (error) {
      setProblem(error);
      setSending(false);
    }
  };
  const target = plan?.colour ?? ask.colour;
  const title = ask.operation === 'flip' ? `Flip production to ${target}?` : `Roll back to ${target ?? 'the colour live before'}?`;
  return html`<dialog ref=${dialog} onClose=${onClose} aria-labelledby="confirm-title">
    <h2 id="confirm-title">${title}</h2>
    ${problem
      ? html`<p class="bad" role="alert">${problem.message}</p>${problem.hint && html`<p class="muted">${problem.hint}</p>`}`
      : plan
        ? html`<p>Production traffic moves from <strong>${live ?? 'no colour'}</strong> to <strong>${target}</strong>, checked first and then through the public address; if that check fails, traffic goes back to ${live ?? 'where it was'}.</p><pre>${plan.plan.join('\n')}</pre>`
        : html`<p class="muted">Planning…</p>`}
    <div class="actions">
      ${plan && !problem && html`<button type="button" class="flip" disabled=${sending} onClick=${go}>${ask.operation === 'flip' ? `Flip to ${target}` : `Roll back to ${target}`}</button>`}
      <button type="button" onClick=${() => dialog.current.close()}>Cancel</button>
    </div>
  </dialog>`;
}

function App() {
  const [session, setSession] = useState(undefined);
  const [status, setStatus] = useState(undefined);
  const [history, setHistory] = useState([]);
  const [operations, setOperations] = useState([]);
  const [problem, setProblem] = useState(undefined);
  const [connection, setConnection] = useState('connecting');
  const [ask, setAsk] = useState(undefined);
  const timer = useRef(undefined);

  const fail = (error) => {
    if (error instanceof SignedOut) window.location.assign('/login');
    else setProblem(error.message);
  };
  const refresh = () =>
    Promise.all([api('/api/status'), api('/api/history?limit=20')]).then(([s, records]) => {
      setStatus(s);
      setHistory(records);
      setProblem(undefined);
    }, fail);
  const refreshSoon = () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(refresh, 200);
  };

  const onEvent = (event) => {
    if (event.type === 'changed') return refreshSoon();
    const key = `${event.operation} ${event.colour}`;
    setOperations((ops) => {
      const rest = ops.filter((op) => op.key !== key);
      const current = ops.find((op) => op.key === key);
      if (event.type === 'start') return [{ key, operation: event.operation, colour: event.colour, by: event.by, lines: [], done: undefined }, ...rest].slice(0, 4);
      const op = current && !current.done ? current : { key, operation: event.operation, colour: event.colour, by: event.by, lines: [], done: undefined };
      if (event.type === 'progress') return [{ ...op, lines: [...op.lines, event.line] }, ...rest];
      return [{ ...op, done: { ok: event.ok, message: event.message } }, ...rest];
    });
    if (event.type !== 'progress') refreshSoon();
  };

  useEffect(() => {
    api('/api/session').then(setSession, fail);
    refresh();
    let source;
    const open = () => {
      source = new EventSource('/api/events');
      source.onopen = () => setConnection('live');
      source.onerror = () => {
        if (source?.readyState !== EventSource.CLOSED) return setConnection('reconnecting');
        // Refused (a restarted server forgot the session): reading the status again says why, or signs in.
        setConnection('closed');
        refresh();
      };
      for (const type of ['start', 'progress', 'done', 'changed']) source.addEventListener(type, (message) => onEvent(JSON.parse(message.data)));
      source.addEventListener('signed-out', () => window.location.assign('/login'));
    };
    const close = () => {
      source?.close();
      source = undefined;
      setConnection('paused');
    };
    const onVisibility = () => {
      if (document.hidden) return close();
      open();
      refresh();
    };
    if (!document.hidden) open();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      close();
    };
  }, []);

  const lastFlip = history.find((r) => r.type === 'flip' && r.outcome === 'flipped');
  return html`<header>
      <h1>bluegreen</h1>
      <span class=${`connection is-${connection}`} title="updates">${connection === 'live' ? '● live updates' : connection === 'paused' ? 'updates paused' : connection}</span>
      ${session && html`<span class="who">${session.user} <span class="muted">(${session.role})</span></span>
        <form method="post" action="/logout"><button type="submit" class="link">Sign out</button></form>`}
    </header>
    <main>
      ${problem && html`<p class="problem" role="alert">${problem}</p>`}
      ${status
        ? html`<${Live} status=${status} />
          <${Schema} schema=${status.schema} />
          ${session?.mayFlip && lastFlip?.from && html`<p><button type="button" class="rollback" onClick=${() => setAsk({ operation: 'rollback' })}>Roll back to ${lastFlip.from}</button></p>`}
          <div class="colours">${COLOURS.map((colour) => {
            const c = status.colours.find((x) => x.colour === colour);
            return c && html`<${ColourCard} key=${colour} c=${c} live=${status.live} deployedBy=${c.deployed?.by} mayFlip=${session?.mayFlip} onFlip=${setAsk} />`;
          })}</div>`
        : html`<p class="loading">Reading the hosts…</p>`}
      <section aria-labelledby="h-activity"><h2 id="h-activity">Activity</h2><div aria-live="polite"><${Activity} operations=${operations} /></div></section>
      <section aria-labelledby="h-history"><h2 id="h-history">History</h2><${History} records=${history} /></section>
    </main>
    ${ask && html`<${Confirm} ask=${ask} live=${status?.live} onClose=${() => setAsk(undefined)} />`}`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
