// ExSim live page: follows the replay over the /admin/live WebSocket (its own feed, not a market
// stream: it never counts as bot traffic) and drives it with the admin API. No build step, no CDN.
"use strict";

const TOKEN_KEY = "exsim.adminToken";
const SYMBOL_KEY = "exsim.liveSymbol";
const MAX_BARS = 300;

const $ = (id) => document.getElementById(id);
const state = { bars: [], fills: [], symbol: sessionStorage.getItem(SYMBOL_KEY) || "", ws: null,
                retry: 500, frames: 0, last: null };

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function say(text, isError) {
  const m = $("message");
  m.textContent = text || "";
  m.className = isError ? "error" : "";
}

function fmtTime(ms) {
  if (!ms) return "-";
  return new Date(ms).toISOString().replace("T", " ").replace(".000Z", "");
}

function fmtNum(x, digits) {
  return Number(x).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// --- the feed -----------------------------------------------------------------------------

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/admin/live`);
  state.ws = ws;
  ws.onopen = () => {
    state.retry = 500;
    ws.send(JSON.stringify({ token: token(), symbol: state.symbol || null }));
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.error) {
      say(`${msg.error.code}: ${msg.error.msg} Enter the admin token below.`, true);
      return;
    }
    if (msg.type === "snapshot") apply(msg);
  };
  ws.onclose = (ev) => {
    setBadge("offline", "offline");
    if (ev.reason === "invalid admin token") return;  // wait for "Use token"
    state.retry = Math.min(state.retry * 2, 5000);
    setTimeout(connect, state.retry);
  };
}

function reconnect() {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  connect();
}

function apply(s) {
  state.frames += 1;
  document.body.dataset.frames = String(state.frames);
  if (s.reset) { state.bars = []; state.fills = []; }
  for (const bar of s.bars) {
    const n = state.bars.length;
    if (n && state.bars[n - 1][0] === bar[0]) state.bars[n - 1] = bar;  // the open bar, updated
    else if (!n || bar[0] > state.bars[n - 1][0]) state.bars.push(bar);
  }
  if (state.bars.length > MAX_BARS) state.bars.splice(0, state.bars.length - MAX_BARS);
  state.fills.push(...s.fills);
  if (state.fills.length > 2000) state.fills.splice(0, state.fills.length - 2000);
  state.symbol = s.symbol;
  state.last = s;
  renderSymbols(s.symbols, s.symbol);
  $("price").textContent = s.price;
  document.body.dataset.price = s.price;
  $("sim-time").textContent = fmtTime(s.sim_time);
  $("equity").textContent = fmtNum(s.equity, 2) + " USDT";
  $("wallet").textContent = s.wallet + " USDT";
  $("position").textContent = s.positions.length
    ? s.positions.map((p) => `${p.side === "BOTH" ? "" : p.side + " "}${p.qty} @ ${fmtNum(p.entry, 2)}`).join(", ")
    : "flat";
  $("speed").textContent = `${s.speed} (actual ${s.bars_per_sec})`;
  $("fills-count").textContent = String(state.fills.length);
  const pct = (s.progress * 100).toFixed(2);
  $("progress").textContent = `${s.bars_done} / ${s.bars_total} bars (${pct} %)`;
  $("progress-bar").style.width = `${pct}%`;
  $("run").textContent = `run ${s.run_id} · ${s.interval} bars · ${s.run_status}`;
  if (s.finished) setBadge("finished", "finished");
  else if (s.paused) setBadge("paused", "paused");
  else setBadge("running", "running");
  draw();
}

function setBadge(cls, text) {
  const b = $("state");
  b.className = `badge ${cls}`;
  b.textContent = text;
}

function renderSymbols(symbols, current) {
  const sel = $("symbol");
  if (sel.options.length !== symbols.length || [...sel.options].some((o, i) => o.value !== symbols[i])) {
    sel.innerHTML = "";
    for (const s of symbols) sel.add(new Option(s, s));
  }
  sel.value = current;
}

// --- the chart (canvas, drawn by hand) ----------------------------------------------------

function draw() {
  const c = $("chart");
  const ctx = c.getContext("2d");
  const W = c.width, H = c.height, padL = 10, padR = 80, padT = 14, padB = 26;
  ctx.clearRect(0, 0, W, H);
  const bars = state.bars;
  if (!bars.length) return;
  const t0 = bars[0][0], t1 = bars[bars.length - 1][0];
  const fills = state.fills.filter((f) => f.t >= t0);
  let lo = Infinity, hi = -Infinity;
  for (const b of bars) { lo = Math.min(lo, b[1]); hi = Math.max(hi, b[1]); }
  for (const f of fills) { lo = Math.min(lo, f.price); hi = Math.max(hi, f.price); }
  if (hi === lo) { hi += 1; lo -= 1; }
  const span = Math.max(t1 - t0, 1);
  const x = (t) => padL + ((t - t0) / span) * (W - padL - padR);
  const y = (p) => padT + (1 - (p - lo) / (hi - lo)) * (H - padT - padB);
  // grid and price axis
  ctx.strokeStyle = "#263241"; ctx.fillStyle = "#8b98a5"; ctx.font = "12px system-ui"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const p = lo + ((hi - lo) * i) / 4, yy = y(p);
    ctx.beginPath(); ctx.moveTo(padL, yy); ctx.lineTo(W - padR, yy); ctx.stroke();
    ctx.fillText(fmtNum(p, 2), W - padR + 6, yy + 4);
  }
  ctx.fillText(fmtTime(t0), padL, H - 8);
  const right = fmtTime(t1);
  ctx.fillText(right, W - padR - ctx.measureText(right).width, H - 8);
  // price line
  ctx.strokeStyle = "#f0b90b"; ctx.lineWidth = 1.6; ctx.beginPath();
  bars.forEach((b, i) => (i ? ctx.lineTo(x(b[0]), y(b[1])) : ctx.moveTo(x(b[0]), y(b[1]))));
  ctx.stroke();
  // last price tag
  const last = bars[bars.length - 1][1];
  ctx.fillStyle = "#f0b90b"; ctx.fillRect(W - padR + 2, y(last) - 9, padR - 4, 18);
  ctx.fillStyle = "#0f1720"; ctx.fillText(fmtNum(last, 2), W - padR + 6, y(last) + 4);
  // fills: triangles at (time, price)
  for (const f of fills) {
    const fx = Math.min(x(f.t), W - padR), fy = y(f.price), up = f.side === "BUY";
    ctx.fillStyle = up ? "#26a69a" : "#ef5350";
    ctx.beginPath();
    if (up) { ctx.moveTo(fx, fy - 2); ctx.lineTo(fx - 6, fy + 9); ctx.lineTo(fx + 6, fy + 9); }
    else { ctx.moveTo(fx, fy + 2); ctx.lineTo(fx - 6, fy - 9); ctx.lineTo(fx + 6, fy - 9); }
    ctx.closePath(); ctx.fill();
  }
}

// --- controls: the admin API, with the token when one is set ---------------------------------

async function admin(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  try {
    const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
    const data = await r.json();
    if (!r.ok) { say(`${data.code}: ${data.msg}`, true); return null; }
    say(`${path}: ${JSON.stringify(data)}`);
    return data;
  } catch (err) {
    say(`${path}: ${err}`, true);
    return null;
  }
}

function speedValue() {
  const text = $("speed-input").value.trim();
  if (text === "max") return "max";
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

$("btn-pause").onclick = () => admin("/admin/pause");
$("btn-resume").onclick = () => admin("/admin/resume");
$("btn-step").onclick = () => admin("/admin/step", { bars: Math.max(1, parseInt($("step-bars").value, 10) || 1) });
$("btn-speed").onclick = () => {
  const v = speedValue();
  if (v === null) { say("speed: a number of bars per second, or max", true); return; }
  admin("/admin/replay", { speed_bars_per_sec: v });
};
$("btn-max").onclick = () => admin("/admin/replay", { speed_bars_per_sec: "max" });
$("btn-token").onclick = () => {
  const t = $("token").value;
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  say(t ? "token kept for this tab (sessionStorage)" : "token cleared");
  reconnect();
};
$("symbol").onchange = (ev) => {
  state.symbol = ev.target.value;
  sessionStorage.setItem(SYMBOL_KEY, state.symbol);
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ symbol: state.symbol }));
};
$("token").value = token();

connect();
