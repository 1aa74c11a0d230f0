/**
 * A trace as one self-contained HTML page: a lane per thread, labelled with its name, with
 * waits, lock holds and tasks as bars of their own colours on a time axis; hovering a bar
 * tells what it is, on what object, and for how long. Wheel to zoom, drag to pan,
 * double-click to see it all again.
 *
 * Self-contained means no network at all: the page's style and script are inline, the
 * drawing is SVG made by that script from the trace embedded as JSON, so the file opens
 * anywhere, offline, and can be mailed as is.
 */
import type { TraceEvent } from "./trace-event.js";
import { layoutTrace } from "./trace-spans.js";

/** Options of {@link toHTML}. */
export interface TimelineOptions {
  /** The page's title. */
  title?: string;
}

/** The page for `events`. */
export function toHTML(events: readonly TraceEvent[], options: TimelineOptions = {}): string {
  const layout = layoutTrace(events);
  const title = options.title ?? `weft trace: ${layout.lanes.length} threads, ${events.length} events`;
  // In a <script> element only "</script" and "<!--" end or confuse the data: escape every "<".
  const data = JSON.stringify(layout).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<div class="legend">
<span><i style="background:#2f9e62"></i>task</span>
<span><i style="background:#3566d6"></i>lock held</span>
<span><i style="background:#e4572e"></i>waiting</span>
<span><i style="background:#d9dee7"></i>thread alive</span>
<span><i class="tick"></i>event</span>
<span class="hint">wheel: zoom · drag: pan · double-click: reset</span>
</div>
</header>
<main id="timeline"><noscript>This page draws the trace with JavaScript.</noscript></main>
<div id="tip" hidden></div>
<script type="application/json" id="weft-trace">${data}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2433;background:#fff}
header{padding:10px 16px;border-bottom:1px solid #e3e6ec;background:#f7f8fa}
h1{font-size:15px;margin:0 0 6px}
.legend{display:flex;gap:16px;flex-wrap:wrap;align-items:center;color:#4a5263}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.legend i.tick{width:2px;background:#1d2433}
.legend .hint{margin-left:auto;color:#8a92a3}
main{padding:4px 0;overflow:hidden;user-select:none;cursor:grab}
main.dragging{cursor:grabbing}
svg text{font:12px system-ui,sans-serif;fill:#1d2433}
svg .axis text{fill:#6b7385;font-size:11px}
svg .axis line{stroke:#e3e6ec}
svg .lane-bg{fill:#fbfbfd}
svg .lane:nth-child(even) .lane-bg{fill:#f3f5f9}
svg rect.bar{stroke:rgba(0,0,0,.25);stroke-width:.5}
svg rect.bar:hover{stroke:#000;stroke-width:1.5}
svg line.tick{stroke:#1d2433;stroke-width:1.5}
#tip{position:fixed;pointer-events:none;background:#1d2433;color:#fff;padding:6px 9px;border-radius:4px;font-size:12px;white-space:pre;box-shadow:0 2px 8px rgba(0,0,0,.25);z-index:2}
`;

/** The page's script, as plain JavaScript (it runs in the browser, not in Node). */
const SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("weft-trace").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var COLOR = { thread: "#d9dee7", task: "#2f9e62", hold: "#3566d6", wait: "#e4572e" };
  var ORDER = ["task", "hold", "wait"];
  var LABEL_W = 220, ROW_H = 12, ROW_GAP = 3, LANE_PAD = 6, AXIS_H = 26, BARS_TOP = 16;
  var root = document.getElementById("timeline");
  var tip = document.getElementById("tip");
  var total = Math.max(data.end, 1);
  var view = { from: 0, to: total };

  // Rows within each lane: spans of one category that overlap go on separate rows.
  var lanes = data.lanes.map(function (lane) {
    var rows = {}, spans = [], instants = [];
    ORDER.forEach(function (c) { rows[c] = []; });
    data.spans.forEach(function (s) {
      if (s.ident !== lane.ident) return;
      if (s.category === "thread") { spans.push({ s: s, row: -1 }); return; }
      var ends = rows[s.category], r = 0;
      while (r < ends.length && ends[r] > s.start) r++;
      ends[r] = s.end;
      spans.push({ s: s, row: r });
    });
    data.instants.forEach(function (i) { if (i.ident === lane.ident) instants.push(i); });
    var offsets = {}, y = 0;
    ORDER.forEach(function (c) { offsets[c] = y; y += Math.max(rows[c].length, c === "wait" ? 1 : 0) * (ROW_H + ROW_GAP); });
    return { lane: lane, spans: spans, instants: instants, offsets: offsets, height: Math.max(BARS_TOP + y + LANE_PAD, 40) };
  });

  function fmt(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(us >= 1e7 ? 1 : 2) + " s";
    if (us >= 1e3) return (us / 1e3).toFixed(us >= 1e4 ? 1 : 2) + " ms";
    return us.toFixed(us >= 10 ? 1 : 2) + " µs";
  }

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function describe(s) {
    var kind = s.category === "wait" ? "wait (" + (s.waitKind || "?") + ")" : s.category === "hold" ? "held (" + (s.waitKind || "lock") + ")" : s.category;
    var lines = [kind + ": " + s.label, "duration " + fmt(s.end - s.start) + (s.clipped ? " (clipped by the trace)" : ""), "from " + fmt(s.start) + " to " + fmt(s.end)];
    if (s.object) lines.push("object " + s.object);
    if (s.outcome) lines.push("outcome " + s.outcome);
    return lines.join("\n");
  }

  function render() {
    var width = Math.max(root.clientWidth || 0, 600);
    var plotW = width - LABEL_W - 12;
    var scale = plotW / (view.to - view.from);
    var x = function (us) { return LABEL_W + (us - view.from) * scale; };
    var height = AXIS_H + lanes.reduce(function (h, l) { return h + l.height; }, 0) + 4;
    var svg = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, "data-lanes": lanes.length });
    var clip = el("clipPath", { id: "plot" }, el("defs", {}, svg));
    el("rect", { x: LABEL_W, y: 0, width: plotW, height: height }, clip);

    var axis = el("g", { "class": "axis" }, svg);
    var span = view.to - view.from, step = Math.pow(10, Math.floor(Math.log10(span / 8)));
    if (span / step > 40) step *= 5; else if (span / step > 16) step *= 2;
    for (var t = Math.ceil(view.from / step) * step; t <= view.to; t += step) {
      if (x(t) < LABEL_W - 0.5) continue;
      el("line", { x1: x(t), x2: x(t), y1: AXIS_H - 6, y2: height }, axis);
      if (x(t) < width - 60) el("text", { x: x(t) + 3, y: AXIS_H - 10 }, axis).textContent = Math.abs(t) < step / 2 ? "0" : fmt(t);
    }

    var bars = 0, y = AXIS_H;
    lanes.forEach(function (l) {
      var g = el("g", { "class": "lane", "data-lane": "", "data-ident": l.lane.ident, "data-name": l.lane.name, transform: "translate(0," + y + ")" }, svg);
      el("rect", { "class": "lane-bg", x: 0, y: 0, width: width, height: l.height }, g);
      var name = el("text", { x: 8, y: 16 }, g);
      name.textContent = l.lane.name;
      el("text", { x: 8, y: 30, fill: "#8a92a3", style: "fill:#8a92a3;font-size:11px" }, g).textContent = "ident " + l.lane.ident;
      var plot = el("g", { "clip-path": "url(#plot)" }, g);
      l.spans.forEach(function (item) {
        var s = item.s, x0 = x(s.start), x1 = x(s.end);
        if (x1 < LABEL_W || x0 > width) return;
        var w = Math.max(x1 - x0, 1.5);
        var top = item.row < 0 ? 1 : BARS_TOP + l.offsets[s.category] + item.row * (ROW_H + ROW_GAP);
        var h = item.row < 0 ? l.height - 2 : ROW_H;
        var r = el("rect", {
          "class": item.row < 0 ? "life" : "bar", x: x0, y: top, width: w, height: h, rx: item.row < 0 ? 0 : 2,
          fill: COLOR[s.category], opacity: item.row < 0 ? 0.55 : 0.92,
          "data-kind": s.category, "data-label": s.label, "data-object": s.object,
          "data-start": s.start, "data-dur": s.end - s.start, "data-detail": describe(s),
        }, plot);
        el("title", {}, r).textContent = describe(s);
        if (item.row >= 0) bars++;
      });
      l.instants.forEach(function (i) {
        var xi = x(i.ts);
        if (xi < LABEL_W || xi > width) return;
        var line = el("line", { "class": "tick", x1: xi, x2: xi, y1: 2, y2: 12, "data-kind": "instant", "data-detail": i.name + "\nat " + fmt(i.ts) }, plot);
        el("title", {}, line).textContent = i.name + " at " + fmt(i.ts);
      });
      y += l.height;
    });
    svg.setAttribute("data-bars", bars);
    root.replaceChildren(svg);
    document.body.setAttribute("data-rendered", "true");
    document.body.setAttribute("data-lanes", lanes.length);
    document.body.setAttribute("data-bars", bars);
  }

  root.addEventListener("mousemove", function (ev) {
    var t = ev.target, detail = t && t.getAttribute && t.getAttribute("data-detail");
    if (!detail || drag) { tip.hidden = true; return; }
    tip.textContent = detail;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4) + "px";
    tip.style.top = ev.clientY + 14 + "px";
  });
  root.addEventListener("mouseleave", function () { tip.hidden = true; });

  function usAt(clientX) {
    var plotW = Math.max(root.clientWidth || 0, 600) - LABEL_W - 12;
    var frac = Math.min(Math.max((clientX - root.getBoundingClientRect().left - LABEL_W) / plotW, 0), 1);
    return view.from + frac * (view.to - view.from);
  }
  root.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var at = usAt(ev.clientX), k = ev.deltaY > 0 ? 1.25 : 0.8;
    var from = at - (at - view.from) * k, to = at + (view.to - at) * k;
    if (to - from < 0.5) return;
    view = { from: Math.max(-total * 0.05, from), to: Math.min(total * 1.05, to) };
    render();
  }, { passive: false });
  var drag = null;
  root.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, from: view.from, to: view.to }; root.classList.add("dragging"); });
  window.addEventListener("mouseup", function () { drag = null; root.classList.remove("dragging"); });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var plotW = Math.max(root.clientWidth || 0, 600) - LABEL_W - 12;
    var d = ((ev.clientX - drag.x) / plotW) * (drag.to - drag.from);
    view = { from: drag.from - d, to: drag.to - d };
    render();
  });
  root.addEventListener("dblclick", function () { view = { from: 0, to: total }; render(); });
  window.addEventListener("resize", render);
  render();
})();
`;
