// The dashboard page: one self-contained HTML document (no CDN, no external script), which reads
// /api/dashboard and re-reads it whenever /events announces a study event. Learning curves are
// drawn as inline SVG. Everything from the server is inserted as text (textContent), never HTML.

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function dashboardPage(studyId: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fl study ${escapeHtml(studyId)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.2rem; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 1.3rem 0 .4rem; }
  table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #d5d9e0; padding: .25rem .55rem; text-align: left; vertical-align: top; }
  th { background: #eef1f5; font-weight: 600; } .num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { font-weight: 600; } .ok { color: #17733a; } .bad { color: #b3261e; } .warn { color: #8a5a00; } .muted { color: #6b7280; }
  .bar { display: inline-block; width: 8rem; height: .7rem; background: #e5e7eb; border-radius: 3px; vertical-align: middle; }
  .bar > span { display: block; height: 100%; background: #3b82f6; border-radius: 3px; }
  .curves { display: flex; flex-wrap: wrap; gap: 1rem; } .curve { background: #fff; border: 1px solid #d5d9e0; padding: .4rem; }
  #conn { font-size: .85rem; } nav a { margin-right: 1rem; }
</style>
</head>
<body>
<h1>Study <span id="study">${escapeHtml(studyId)}</span>: <span id="state" class="state">loading…</span></h1>
<div><span id="summary"></span> <span id="conn" class="muted"></span></div>
<nav><a id="link-report-html" href="report.html">report (HTML)</a><a id="link-report-json" href="report.json">report.json</a><a id="link-audit" href="api/audit">audit summary</a><a id="link-metrics" href="metrics">metrics</a><a id="link-status" href="api/status">status JSON</a></nav>
<h2>Sites</h2>
<table id="sites"><thead><tr><th>site</th><th>connected</th><th>backend</th><th>last seen</th><th>current task</th><th>progress</th><th>co-signature</th></tr></thead><tbody></tbody></table>
<h2>Learning curves</h2>
<div id="curves" class="curves"><span class="muted">no round finished yet</span></div>
<h2>Rounds</h2>
<table id="rounds"><thead><tr><th>round</th><th>state</th><th>sites</th><th>metrics</th></tr></thead><tbody></tbody></table>
<h2>Refusals and warnings</h2>
<table id="notices"><thead><tr><th>time</th><th>kind</th><th>site</th><th>round</th><th>message</th></tr></thead><tbody></tbody></table>
<script>
(() => {
  const token = new URLSearchParams(location.search).get('token');
  const q = token ? '?token=' + encodeURIComponent(token) : '';
  for (const a of document.querySelectorAll('nav a')) a.setAttribute('href', a.getAttribute('href') + q);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
  const row = (cells) => { const tr = document.createElement('tr'); for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c)); return tr; };
  const td = (child, cls) => { const t = el('td', undefined, cls); t.appendChild(child instanceof Node ? child : document.createTextNode(String(child))); return t; };
  const fill = (id, rows) => { const tb = document.querySelector('#' + id + ' tbody'); tb.replaceChildren(...rows); };
  const ago = (ms) => { if (!ms) return 'never'; const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : new Date(ms).toISOString(); };
  const fmt = (x) => Number.isInteger(x) ? String(x) : Number(x).toFixed(4);
  const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];
  const NS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v)); return e; };

  function curve(model, points) {
    const keys = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))].filter((k) => /loss|auc|acc/.test(k)).sort();
    const box = el('div', undefined, 'curve'); box.dataset.model = model; box.appendChild(el('div', model, 'state'));
    const W = 320, H = 170, L = 36, B = 22, T = 8, R = 8;
    const s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    const rounds = points.map((p) => p.round); const r0 = Math.min(...rounds), r1 = Math.max(...rounds);
    const vals = points.flatMap((p) => keys.map((k) => p.metrics[k]).filter((v) => Number.isFinite(v)));
    let lo = Math.min(0, ...vals), hi = Math.max(1, ...vals); if (hi === lo) hi = lo + 1;
    const x = (r) => L + (r1 === r0 ? (W - L - R) / 2 : ((r - r0) / (r1 - r0)) * (W - L - R));
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    s.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#9ca3af' }));
    s.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#9ca3af' }));
    for (const v of [lo, (lo + hi) / 2, hi]) { const t = svg('text', { x: 2, y: y(v) + 4, 'font-size': 10, fill: '#6b7280' }); t.textContent = v.toFixed(2); s.appendChild(t); }
    for (const r of [...new Set([r0, r1])]) { const t = svg('text', { x: x(r) - 3, y: H - 6, 'font-size': 10, fill: '#6b7280' }); t.textContent = String(r); s.appendChild(t); }
    const legend = el('div', undefined, 'muted');
    keys.forEach((k, i) => {
      const pts = points.filter((p) => Number.isFinite(p.metrics[k]));
      const color = COLORS[i % COLORS.length];
      s.appendChild(svg('polyline', { points: pts.map((p) => x(p.round) + ',' + y(p.metrics[k])).join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'data-metric': k }));
      for (const p of pts) s.appendChild(svg('circle', { cx: x(p.round), cy: y(p.metrics[k]), r: 2.5, fill: color }));
      const sw = el('span', '■ ' + k + '  '); sw.style.color = color; legend.appendChild(sw);
    });
    box.appendChild(s); box.appendChild(legend);
    return box;
  }

  function render(d) {
    const st = d.status;
    const stateEl = document.getElementById('state');
    stateEl.textContent = st.state; stateEl.className = 'state ' + (st.state === 'completed' ? 'ok' : st.state === 'failed' ? 'bad' : '');
    const connected = st.sites.filter((s) => s.connected).length;
    document.getElementById('summary').textContent = 'round ' + st.round + ' of ' + d.rounds_planned + ', ' + connected + '/' + st.sites.length + ' sites connected (min_sites ' + d.min_sites + '), models ' + d.models.join(', ') + (d.ended && d.ended.reason ? ' — ' + d.ended.reason : '');
    document.body.dataset.round = String(st.round); document.body.dataset.rounds = String(st.rounds.length); document.body.dataset.state = st.state;
    fill('sites', [...st.sites].sort((a, b) => a.siteId.localeCompare(b.siteId)).map((s) => {
      const a = d.live.activity[s.siteId]; const c = d.live.cosignatures[s.siteId];
      const bar = el('span', undefined, 'bar'); const fillEl = el('span'); fillEl.style.width = Math.round(100 * (a ? a.progress : 0)) + '%'; bar.appendChild(fillEl);
      const prog = el('span'); prog.appendChild(bar); prog.appendChild(document.createTextNode(' ' + Math.round(100 * (a ? a.progress : 0)) + '%'));
      const tr = row([s.siteId, td(s.connected ? 'yes' : 'no', s.connected ? 'ok' : 'bad'), s.backend || '-', ago(s.lastSeenUnixMs),
        a ? 'round ' + a.round + ': ' + a.state + (a.message ? ' — ' + a.message : '') : '-', td(prog),
        c ? td(c.ok ? 'signed (log size ' + c.treeSize + ')' : 'REFUSED: ' + (c.reason || ''), c.ok ? 'ok' : 'bad') : '-']);
      tr.dataset.site = s.siteId; return tr;
    }));
    fill('rounds', [...st.rounds].reverse().map((r) => {
      const tr = row([td(r.round, 'num'), td(r.state.replaceAll('_', ' '), r.state === 'failed' ? 'bad' : r.state === 'completed' ? 'ok' : 'warn'), r.sites.join(', ') || '-',
        Object.keys(r.metrics).sort().map((k) => k + '=' + fmt(r.metrics[k])).join('  ') || '-']);
      tr.dataset.round = String(r.round); return tr;
    }));
    const models = Object.keys(d.live.curves).filter((m) => d.live.curves[m].length > 0);
    const box = document.getElementById('curves');
    if (models.length) box.replaceChildren(...models.map((m) => curve(m, d.live.curves[m])));
    fill('notices', [...d.live.notices].reverse().map((n) => row([new Date(n.time).toISOString().slice(11, 19), td(n.kind, n.level === 'error' ? 'bad' : 'warn'), n.site || '-', n.round === undefined ? '-' : n.round, n.message])));
  }

  let pending = null;
  async function refresh() {
    pending = null;
    try {
      const r = await fetch('api/dashboard' + q, { cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      render(await r.json());
    } catch (err) { document.getElementById('conn').textContent = '(could not refresh: ' + err.message + ')'; }
  }
  const soon = () => { if (!pending) pending = setTimeout(refresh, 150); };
  const es = new EventSource('events' + q);
  es.onopen = () => { document.getElementById('conn').textContent = '(live)'; soon(); };
  es.onerror = () => { document.getElementById('conn').textContent = '(reconnecting to the event stream…)'; };
  es.onmessage = soon;
  for (const t of ['site_connected', 'site_disconnected', 'round_started', 'task_progress', 'update_accepted', 'update_rejected', 'site_dropped', 'round_completed', 'round_failed', 'study_completed', 'study_failed', 'log', 'cosignature']) es.addEventListener(t, soon);
  setInterval(refresh, 10000);
  refresh();
})();
</script>
</body>
</html>
`;
}
