/**
 * The demo page's live panel: pool counters, calls per second with a sparkline of the last
 * minute, and p50 / p99 per method, redrawn every second from `/stats` by an inline script
 * (no external script, no library). The page also makes one `add` call a second through
 * `/api/add`, so the numbers move while it is open. Every redraw is listed in `#history`
 * (newest first, last 10), which is what the headless-browser test reads.
 */

/** The panel's HTML, to put in the demo page. */
export const PANEL =
  `<section id="panel" style="font:14px system-ui;border:1px solid #ccc;padding:8px;max-width:640px">
<h2 style="margin:0 0 4px">Live: Thrift calls from this app</h2>
<p><b id="rate">0</b> calls/s, <b id="total">0</b> in all; pool: <span id="pool">off</span></p>
<svg id="spark" width="600" height="60" viewBox="0 0 600 60" style="background:#f6f8fa">
<polyline id="line" fill="none" stroke="#0969da" stroke-width="2" points=""/></svg>
<table id="methods" style="border-collapse:collapse"><thead><tr><th align="left">method</th>
<th>calls (10 s)</th><th>failed</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody></tbody></table>
<ol id="history" style="font-size:11px;color:#666"></ol>
</section>
<script>
let tick = 0;
const cell = (text) => { const td = document.createElement("td"); td.textContent = text; td.align = "right"; return td; };
async function redraw() {
  tick++;
  await fetch("/api/add?a=" + tick + "&b=1").catch(() => {});
  const s = await (await fetch("/stats")).json();
  document.getElementById("rate").textContent = s.callsPerSecond;
  document.getElementById("total").textContent = s.total;
  document.getElementById("pool").textContent = s.pool
    ? "open " + s.pool.open + ", idle " + s.pool.idle + ", leased " + s.pool.leased + ", created " + s.pool.created
    : "off";
  const max = Math.max(1, ...s.series);
  document.getElementById("line").setAttribute("points",
    s.series.map((v, i) => (i * 600 / (s.series.length - 1)).toFixed(1) + "," + (58 - v * 56 / max).toFixed(1)).join(" "));
  const body = document.querySelector("#methods tbody");
  body.replaceChildren(...Object.entries(s.methods).map(([name, m]) => {
    const tr = document.createElement("tr");
    const first = document.createElement("td");
    first.textContent = name;
    tr.append(first, cell(m.calls), cell(m.failed), cell(m.p50.toFixed(2)), cell(m.p99.toFixed(2)));
    return tr;
  }));
  const item = document.createElement("li");
  item.textContent = "redraw " + tick + ": total " + s.total + ", " + s.callsPerSecond + " calls/s";
  const history = document.getElementById("history");
  history.prepend(item);
  while (history.children.length > 10) history.lastChild.remove();
}
redraw();
setInterval(redraw, 1000);
</script>`;
