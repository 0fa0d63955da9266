/* grokscope report: draws the embedded JSON as tables and SVG charts. No library, no request. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("grokscope-data").textContent);
  var app = document.getElementById("app");
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  var STEPS = ["#d4e157", "#8bc34a", "#26a69a", "#2b8cbe", "#3949ab", "#4a148c"];  // early -> late
  var LABELS = { alpha0: "α0", alpha1: "α1", delta_S: "ΔS", support: "S", delay: "delay",
    stop_step: "stop step", stop_rule: "stop rule", final_test_acc: "final test acc",
    final_train_acc: "final train acc", weight_decay: "wd", init_scale: "init scale" };
  var VERDICTS = ["grokked", "memorized-only", "not-fitted", "diverged", "collapsed"];
  var state = { sel: null, tables: [], redraw: [] };

  /* ---------- small helpers ---------- */
  function h(tag, attrs) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") node.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var kid = arguments[i];
      if (kid == null) continue;
      node.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
    }
    return node;
  }
  function s(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return String(Number(v.toPrecision(4)));
  }
  function label(key) { return LABELS[key] || key; }
  function colorOf(index, n) {
    if (n <= 10) return PALETTE[index % 10];
    return "hsl(" + Math.round((index * 360) / n) % 360 + ",62%,45%)";
  }
  function section(id, title) {
    var box = h("section", { id: id }, h("h2", { text: title }));
    app.appendChild(box);
    return box;
  }

  /* ---------- scales and ticks ---------- */
  function scale(lo, hi, a, b, log) {
    if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
    if (hi === lo) { hi = lo + 1; }
    return function (v) {
      var x = log ? Math.log10(v) : v;
      return a + ((x - lo) / (hi - lo)) * (b - a);
    };
  }
  function ticks(lo, hi, log) {
    var out = [];
    if (log) {
      for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        var t = Math.pow(10, e);
        if (t >= lo * 0.999 && t <= hi * 1.001) out.push(t);
      }
      if (out.length >= 2) return out;
    }
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / 4)));
    if (span / step > 10) step *= 2;
    if (span / step > 10) step *= 2.5;
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-6; v += step) out.push(v);
    return out;
  }
  function tickText(v) {
    var a = Math.abs(v);
    if (a >= 1e4 || (a > 0 && a < 1e-2)) {
      var e = Math.round(Math.log10(a));
      if (Math.abs(a - Math.pow(10, e)) < 1e-9 * a) return "1e" + e;
      return v.toExponential(0);
    }
    return String(Number(v.toPrecision(3)));
  }
  function extent(values, log) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (v === null || !isFinite(v) || (log && v <= 0)) return;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    if (lo === Infinity) return null;
    if (lo === hi) { if (log) { lo /= 2; hi *= 2; } else { lo -= 0.5; hi += 0.5; } }
    return [lo, hi];
  }

  /* ---------- the chart: one <g class="series" data-member> per member ---------- */
  // opts: title, logx, logy, ylim, ylabel, xlabel, groups: [{id, name, color, paths:
  // [{s, v, cls, name, axis}], marks: [{x, cls}]}], y2: {label, log} when a path has axis 2
  function chart(parent, opts) {
    var W = 600, H = 290, L = 56, R = opts.y2 ? 56 : 14, T = 10, B = 36;
    var box = h("div", { class: "chart", "data-chart": opts.id || opts.title });
    box.appendChild(h("div", { class: "title", text: opts.title }));
    var svg = s("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    box.appendChild(svg);
    var tip = h("div", { class: "tip" });
    box.appendChild(tip);
    parent.appendChild(box);
    var xs = [], ys = [], y2s = [];
    opts.groups.forEach(function (g) {
      g.paths.forEach(function (p) {
        p.s.forEach(function (x, i) {
          if (p.v[i] === null) return;
          xs.push(x);
          (p.axis === 2 ? y2s : ys).push(p.v[i]);
        });
      });
    });
    var xr = extent(xs, opts.logx), yr = opts.ylim || extent(ys, opts.logy);
    if (!xr || !yr) {
      svg.appendChild(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }))
        .textContent = "nothing logged yet";
      return box;
    }
    var X = scale(xr[0], xr[1], L, W - R, opts.logx), Y = scale(yr[0], yr[1], H - B, T, opts.logy);
    var y2r = opts.y2 ? extent(y2s, opts.y2.log) : null;
    var Y2 = y2r ? scale(y2r[0], y2r[1], H - B, T, opts.y2.log) : null;
    var axis = s("g", { class: "axis" });
    ticks(xr[0], xr[1], opts.logx).forEach(function (t) {
      axis.appendChild(s("line", { class: "gridline", x1: X(t), x2: X(t), y1: T, y2: H - B }));
      var tx = s("text", { x: X(t), y: H - B + 14, "text-anchor": "middle" });
      tx.textContent = tickText(t);
      axis.appendChild(tx);
    });
    ticks(yr[0], yr[1], opts.logy).forEach(function (t) {
      axis.appendChild(s("line", { class: "gridline", x1: L, x2: W - R, y1: Y(t), y2: Y(t) }));
      var ty = s("text", { x: L - 5, y: Y(t) + 4, "text-anchor": "end" });
      ty.textContent = tickText(t);
      axis.appendChild(ty);
    });
    if (Y2) {
      ticks(y2r[0], y2r[1], opts.y2.log).forEach(function (t) {
        var ty = s("text", { x: W - R + 5, y: Y2(t) + 4 });
        ty.textContent = tickText(t);
        axis.appendChild(ty);
      });
      var l2 = s("text", { transform: "translate(" + (W - 6) + "," + (T + (H - B - T) / 2) +
        ") rotate(90)", "text-anchor": "middle" });
      l2.textContent = opts.y2.label;
      axis.appendChild(l2);
    }
    axis.appendChild(s("path", { d: "M" + L + "," + T + "V" + (H - B) + "H" + (W - R), fill: "none" }));
    var xl = s("text", { x: L + (W - R - L) / 2, y: H - 4, "text-anchor": "middle" });
    xl.textContent = opts.xlabel || "step";
    axis.appendChild(xl);
    var yl = s("text", { transform: "translate(12," + (T + (H - B - T) / 2) + ") rotate(-90)",
      "text-anchor": "middle" });
    yl.textContent = opts.ylabel || "";
    axis.appendChild(yl);
    svg.appendChild(axis);
    var hits = [];
    opts.groups.forEach(function (g) {
      var group = s("g", { class: "series", "data-member": g.id });
      g.paths.forEach(function (p) {
        var yOf = p.axis === 2 ? Y2 : Y;
        if (!yOf) return;
        var d = "", px = [], py = [], pi = [], pen = "M";
        p.s.forEach(function (x, i) {
          var v = p.v[i];
          if (v === null || (opts.logx && x <= 0) || ((p.axis === 2 ? opts.y2.log : opts.logy) && v <= 0)) {
            pen = "M";
            return;
          }
          var cx = X(x), cy = yOf(v);
          d += pen + cx.toFixed(1) + "," + cy.toFixed(1);
          pen = "L";
          px.push(cx); py.push(cy); pi.push(i);
        });
        if (!d) return;
        if (p.dots) {
          px.forEach(function (cx, k) {
            group.appendChild(s("circle", { cx: cx, cy: py[k], r: 3.2, fill: g.color, class: "dot" }));
          });
        } else {
          group.appendChild(s("path", { d: d, stroke: g.color, class: p.cls || "" }));
        }
        hits.push({ g: g, p: p, px: px, py: py, pi: pi });
      });
      (g.marks || []).forEach(function (m) {
        if (m.x === null || m.x === undefined || (opts.logx && m.x <= 0)) return;
        if (m.x < xr[0] || m.x > xr[1]) return;
        group.appendChild(s("line", { x1: X(m.x), x2: X(m.x), y1: T, y2: H - B, stroke: g.color,
          class: m.cls }));
      });
      svg.appendChild(group);
    });
    var guide = s("line", { y1: T, y2: H - B, stroke: "#999", "stroke-width": 0.6, visibility: "hidden" });
    svg.appendChild(guide);
    svg.addEventListener("mousemove", function (ev) {
      var r = svg.getBoundingClientRect();
      var mx = ((ev.clientX - r.left) / r.width) * W, my = ((ev.clientY - r.top) / r.height) * H;
      var best = null;
      hits.forEach(function (hit) {
        if (state.sel !== null && String(hit.g.id) !== String(state.sel)) return;
        var lo = 0, hi = hit.px.length - 1;
        while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (hit.px[mid] < mx) lo = mid; else hi = mid; }
        [lo, hi].forEach(function (k) {
          var dist = Math.hypot(hit.px[k] - mx, hit.py[k] - my);
          if (!best || dist < best.dist) best = { dist: dist, hit: hit, k: k };
        });
      });
      if (!best || best.dist > 60) { tip.style.display = "none"; guide.setAttribute("visibility", "hidden"); return; }
      var i = best.hit.pi[best.k];
      tip.textContent = best.hit.g.name + " · " + (best.hit.p.name || "") + " · step " +
        best.hit.p.s[i] + " · " + fmt(best.hit.p.v[i]);
      tip.style.display = "block";
      tip.style.left = Math.min(ev.clientX - box.getBoundingClientRect().left + 12, box.clientWidth - 220) + "px";
      tip.style.top = (ev.clientY - box.getBoundingClientRect().top + 12) + "px";
      guide.setAttribute("x1", best.hit.px[best.k]);
      guide.setAttribute("x2", best.hit.px[best.k]);
      guide.setAttribute("visibility", "visible");
    });
    svg.addEventListener("mouseleave", function () {
      tip.style.display = "none";
      guide.setAttribute("visibility", "hidden");
    });
    svg.addEventListener("click", function () {
      if (tip.style.display === "block") {
        var text = tip.textContent.split(" · ")[0];
        opts.groups.forEach(function (g) { if (g.name === text) select(g.id); });
      }
    });
    return box;
  }

  /* ---------- selection: a table row, a legend entry or a curve ---------- */
  function select(id, keep) {
    state.sel = (id === null || (!keep && String(state.sel) === String(id))) ? null : id;
    app.classList.toggle("has-hl", state.sel !== null);
    document.querySelectorAll(".series").forEach(function (g) {
      g.classList.toggle("hl", state.sel !== null && g.getAttribute("data-member") === String(state.sel));
    });
    document.querySelectorAll("tr[data-member]").forEach(function (tr) {
      tr.classList.toggle("sel", state.sel !== null && tr.getAttribute("data-member") === String(state.sel));
    });
    state.redraw.forEach(function (f) { f(); });
    saveState();
  }
  function saveState() {
    var parts = [];
    if (state.sel !== null) parts.push("m=" + encodeURIComponent(state.sel));
    parts.push("y=" + Math.round(window.scrollY));
    history.replaceState(null, "", "#" + parts.join("&"));
  }
  function loadState() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("=");
      if (p.length === 2) out[p[0]] = decodeURIComponent(p[1]);
    });
    return out;
  }

  /* ---------- the sortable, filterable table ---------- */
  function table(parent, columns, rows, opts) {
    opts = opts || {};
    var key = opts.key || "member";
    var input = h("input", { type: "search", placeholder: "filter: text, or column=value (e.g. verdict=grokked)" });
    var count = h("span", { class: "muted" });
    parent.appendChild(h("div", { class: "filter" }, input, count));
    var thead = h("thead"), tbody = h("tbody");
    var tbl = h("table", { class: "grid", "data-table": opts.name || key }, thead, tbody);
    parent.appendChild(h("div", { class: "tablebox" }, tbl));
    var sortKey = null, sortDir = 1, only = null;
    var head = h("tr");
    columns.forEach(function (c) {
      var th = h("th", { text: label(c), "data-key": c, title: c });
      var sample = rows.length ? rows.find(function (r) { return r[c] !== null && r[c] !== undefined; }) : null;
      if (sample && typeof sample[c] !== "number") th.className = "text";
      th.addEventListener("click", function () {
        sortDir = sortKey === c ? -sortDir : 1;
        sortKey = c;
        head.querySelectorAll("th").forEach(function (x) { x.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(sortDir > 0 ? "sorted-asc" : "sorted-desc");
        draw();
      });
      head.appendChild(th);
    });
    thead.appendChild(head);
    function matches(row, text) {
      var tokens = text.toLowerCase().split(/\s+/).filter(Boolean);
      return tokens.every(function (t) {
        var eq = t.indexOf("=");
        if (eq > 0) {
          var col = t.slice(0, eq), want = t.slice(eq + 1);
          return columns.some(function (c) {
            return (c.toLowerCase() === col || label(c).toLowerCase() === col) &&
              fmt(row[c]).toLowerCase().indexOf(want) >= 0;
          });
        }
        return columns.some(function (c) { return fmt(row[c]).toLowerCase().indexOf(t) >= 0; });
      });
    }
    function draw() {
      var shown = rows.filter(function (r) {
        return (!only || only.has(String(r[key]))) && matches(r, input.value);
      });
      if (sortKey !== null) {
        shown.sort(function (a, b) {
          var x = a[sortKey], y = b[sortKey];
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
        });
      }
      tbody.innerHTML = "";
      shown.forEach(function (r) {
        var tr = h("tr", { "data-member": String(r[key]) });
        if (state.sel !== null && String(state.sel) === String(r[key])) tr.className = "sel";
        columns.forEach(function (c, i) {
          var td = h("td", { "data-key": c });
          if (typeof r[c] !== "number") td.className = "text";
          if (i === 0 && opts.colors) {
            td.appendChild(h("span", { class: "swatch", style: "background:" + opts.colors[r[key]] }));
          }
          if (opts.links && c === opts.links.column && opts.links.href(r)) {
            td.appendChild(h("a", { href: opts.links.href(r), text: fmt(r[c]),
              onclick: function (ev) { ev.stopPropagation(); } }));
          } else {
            td.appendChild(document.createTextNode(fmt(r[c])));
          }
          // a class only for a verdict grokscope writes: a stored string is text, never markup
          if (c === "verdict" && VERDICTS.indexOf(r[c]) >= 0) td.classList.add("verdict-" + r[c]);
          if (c === "ok") td.className = r[c] ? "pass" : "fail";
          tr.appendChild(td);
        });
        tr.addEventListener("click", function () { if (opts.select !== false) select(r[key]); });
        tbody.appendChild(tr);
      });
      count.textContent = shown.length + " of " + rows.length + " rows";
    }
    input.addEventListener("input", draw);
    draw();
    return { draw: draw, restrict: function (ids) { only = ids ? new Set(ids.map(String)) : null; draw(); } };
  }

  /* ---------- run sections ---------- */
  function memberGroups(members, colors, build) {
    return members.map(function (m) {
      var id = String(m.member);
      return { id: id, name: "member " + id + (m.verdict ? " (" + m.verdict + ")" : ""),
        color: colors[id], paths: build(id), marks: [
          { x: m.alpha0, cls: "a0" }, { x: m.verdict === "grokked" ? m.alpha1 : null, cls: "a1" }] };
    });
  }
  function legend(parent, members, colors) {
    if (members.length > 24) return;
    var box = h("div", { class: "legend" });
    members.forEach(function (m) {
      box.appendChild(h("span", { style: "cursor:pointer", onclick: function () { select(String(m.member)); } },
        h("span", { class: "swatch", style: "background:" + colors[m.member] }), "member " + m.member));
    });
    parent.appendChild(box);
  }
  function curvesSection(members, curves, probes, norm, colors) {
    var box = section("curves", "Curves");
    box.appendChild(h("p", { class: "muted", text: "Log step axis. Test solid, train dashed; dotted " +
      "vertical line: memorization step α0, solid: generalization step α1 (grokked members). Hover " +
      "for values; click a curve, a legend entry or a table row to highlight a member. Curves are " +
      "drawn from the min and max of log-spaced buckets (spikes kept); the stored metrics are complete." }));
    var normProbe = (probes || []).find(function (p) { return p.name === norm; });
    var controls = h("div", { class: "controls" });
    var normBox = h("input", { type: "checkbox", id: "show-norm" });
    if (normProbe) controls.appendChild(h("label", {}, normBox, " weight norm ‖θ‖ on a twin axis (dotted)"));
    box.appendChild(controls);
    var grid = h("div", { class: "charts" });
    box.appendChild(grid);
    function draw() {
      grid.innerHTML = "";
      var twin = normProbe && normBox.checked;
      chart(grid, { id: "accuracy", title: "accuracy", logx: true, ylim: [0, 1.02], ylabel: "accuracy",
        y2: twin ? { label: "‖θ‖", log: false } : null,
        groups: memberGroups(members, colors, function (id) {
          var c = curves[id] || {}, out = [];
          if (c.test_acc) out.push({ s: c.test_acc.s, v: c.test_acc.v, cls: "test", name: "test acc" });
          if (c.train_acc) out.push({ s: c.train_acc.s, v: c.train_acc.v, cls: "train", name: "train acc" });
          if (twin && normProbe.series[id]) out.push({ s: normProbe.series[id].s, v: normProbe.series[id].v,
            cls: "norm", name: "‖θ‖", axis: 2 });
          return out;
        }) });
      chart(grid, { id: "loss", title: "loss", logx: true, logy: true, ylabel: "loss",
        groups: memberGroups(members, colors, function (id) {
          var c = curves[id] || {}, out = [];
          if (c.test_loss) out.push({ s: c.test_loss.s, v: c.test_loss.v, cls: "test", name: "test loss" });
          if (c.train_loss) out.push({ s: c.train_loss.s, v: c.train_loss.v, cls: "train", name: "train loss" });
          return out;
        }) });
      select(state.sel, true);
    }
    normBox.addEventListener("change", draw);
    draw();
    legend(box, members, colors);
  }
  function probesSection(members, probes, colors) {
    if (!probes || !probes.length) return;
    var box = section("probes", "Probes");
    box.appendChild(h("p", { class: "muted", text: probes.length + " probe values recorded over " +
      "training, one line per member, α0/α1 marked as above." }));
    var grid = h("div", { class: "charts small" });
    box.appendChild(grid);
    probes.forEach(function (p) {
      var values = [];
      Object.keys(p.series).forEach(function (k) { values = values.concat(p.series[k].v); });
      var r = extent(values, true), all = extent(values, false);
      var logy = !!(r && all && all[0] > 0 && r[1] / r[0] > 100);
      chart(grid, { id: "probe:" + p.name, title: p.name, logx: true, logy: logy, ylabel: p.name.split("/").pop(),
        groups: memberGroups(members, colors, function (id) {
          var c = p.series[id];
          return c ? [{ s: c.s, v: c.v, cls: "test", name: p.name }] : [];
        }) });
    });
  }
  function spectraSection(members, spectra, colors) {
    if (!spectra || !spectra.length) return;
    var box = section("spectra", "Spectra");
    var note = h("p", { class: "muted" });
    box.appendChild(note);
    var grid = h("div", { class: "charts small" });
    box.appendChild(grid);
    function draw() {
      var member = state.sel !== null && spectra[0].values[state.sel] ? String(state.sel) :
        String((members.find(function (m) { return m.verdict === "grokked"; }) || members[0] || { member: 0 }).member);
      note.textContent = "Vector probes of member " + member + " (select another in the table) at " +
        "the steps shown: first and last measured, near the median α0 and α1, and log-spaced between. " +
        "A grokking network's Fourier spectrum of the embedding concentrates on a few key frequencies.";
      grid.innerHTML = "";
      spectra.forEach(function (sp) {
        var rows = sp.values[member] || [];
        var n = sp.steps.length;
        var one = chart(grid, { id: "spectrum:" + sp.name, title: sp.name + " (member " + member + ")", logx: false,
          xlabel: "index", ylabel: "value",
          groups: sp.steps.map(function (step, k) {
            var v = rows[k] || [];
            return { id: "step-" + step, name: "step " + step, color: STEPS[Math.round((k * (STEPS.length - 1)) / Math.max(1, n - 1))],
              paths: [{ s: v.map(function (_, i) { return i; }), v: v, cls: "test", name: sp.name }], marks: [] };
          }) });
        one.classList.add("nodim");
        var keys = h("div", { class: "legend" });
        sp.steps.forEach(function (step, k) {
          keys.appendChild(h("span", {}, h("span", { class: "swatch", style: "background:" +
            STEPS[Math.round((k * (STEPS.length - 1)) / Math.max(1, n - 1))] }), "step " + step));
        });
        one.appendChild(keys);
      });
    }
    state.redraw.push(draw);
    draw();
  }
  function headerSection(hd, live) {
    app.appendChild(h("h1", { text: D.title }));
    var toc = h("nav", { class: "toc" });
    app.appendChild(toc);
    if (live) {
      var text = live.message;
      if (!text) {
        text = live.training ? "Still training (process " + (live.pid > 0 ? live.pid : "?") + "): " :
          "Not finished, and no process is training it (resume with `grokscope run`): ";
        text += "logged through step " + live.through_step + " of " + live.steps +
          (live.flushed_at ? ", last flush " + live.flushed_at : "") + ". Verdicts are provisional.";
      }
      app.appendChild(h("div", { class: "banner", id: "live", text: text }));
    }
    var meta = h("dl", { class: "meta" });
    [["task", hd.task], ["model", hd.model], ["recipe", hd.recipe], ["members", hd.members],
      ["cohort seed", hd.seed], ["device", hd.device],
      ["training wall-clock", hd.train_seconds != null ? fmt(hd.train_seconds) + " s" : null],
      ["compute used", hd.compute_used != null ? fmt(hd.compute_used * 100) + "% of the budget" : null],
      ["torch", hd.torch], ["grokscope", hd.grokscope], ["python", hd.python], ["run directory", hd.path],
      ["report made", D.generated + " by grokscope " + D.version]].forEach(function (kv) {
      if (kv[1] === null || kv[1] === undefined) return;
      meta.appendChild(h("dt", { text: kv[0] }));
      meta.appendChild(h("dd", { text: String(kv[1]) }));
    });
    app.appendChild(meta);
    if (hd.config_yaml) {
      app.appendChild(h("details", { class: "yaml" }, h("summary", { text: "config (YAML, re-runnable as it is)" }),
        h("pre", { text: hd.config_yaml })));
    }
    return toc;
  }
  function finishToc(toc) {
    document.querySelectorAll("section[id]").forEach(function (sec) {
      toc.appendChild(h("a", { href: "#", text: sec.querySelector("h2").textContent,
        onclick: function (ev) { ev.preventDefault(); sec.scrollIntoView(); } }));
    });
  }
  function memberColors(members) {
    var colors = {};
    members.forEach(function (m, i) { colors[String(m.member)] = colorOf(i, members.length); });
    return colors;
  }
  function runBody(members, columns) {
    var colors = memberColors(members);
    var ev = section("events", "Events");
    ev.appendChild(h("p", { class: "muted", text: "One row per member: its settings that differ, " +
      "the detector's verdict and steps (α0 memorization, α1 generalization, ΔS intensity, S support)" +
      (columns.indexOf("stop_step") >= 0 ? ", and where a stopping rule stopped it." : ".") }));
    table(ev, columns, members, { colors: colors, name: "events" });
    curvesSection(members, D.curves, D.probes, D.norm, colors);
    probesSection(members, D.probes, colors);
    spectraSection(members, D.spectra, colors);
  }

  /* ---------- sweep sections ---------- */
  function phaseSection(ph, runsTable) {
    var box = section("phase", "Phase diagram");
    box.appendChild(h("p", { class: "muted", text: "Majority phase over seeds per cell (Liu et al. 2022); " +
      "the label is the share of seeds in that phase. Click a cell to list its runs and draw their curves." }));
    var W = 600, H = 420, L = 70, R = 130, T = 10, B = 46;
    var nx = ph.xs.length, ny = ph.ys.length, cw = (W - L - R) / nx, ch = (H - T - B) / ny;
    var holder = h("div", { class: "chart phase", "data-chart": "phase" });
    var svg = s("svg", { viewBox: "0 0 " + W + " " + H });
    holder.appendChild(svg);
    box.appendChild(holder);
    var picked = h("div", { class: "muted", id: "cell-info", text: "no cell selected" });
    box.appendChild(picked);
    var cellCharts = h("div", { class: "charts" });
    box.appendChild(cellCharts);
    ph.cells.forEach(function (c) {
      var rect = s("rect", { class: "cell", x: L + c.xi * cw, y: T + (ny - 1 - c.yi) * ch, width: cw, height: ch,
        fill: ph.colors[c.phase], "data-phase": c.phase });
      rect.addEventListener("click", function () {
        svg.querySelectorAll("rect.cell").forEach(function (r) { r.classList.remove("picked"); });
        rect.classList.add("picked");
        picked.textContent = ph.x + " = " + fmt(ph.xs[c.xi]) + ", " + ph.y + " = " + fmt(ph.ys[c.yi]) + ": " +
          c.runs.length + " runs, phase " + c.phase + " (" + Object.keys(c.counts).filter(function (k) {
            return c.counts[k]; }).map(function (k) { return k + " " + c.counts[k]; }).join(", ") + ")";
        runsTable.restrict(c.runs);
        cellCharts.innerHTML = "";
        var groups = c.runs.map(function (run, i) {
          var cv = D.curves[run] || {};
          var out = [];
          if (cv.test_acc) out.push({ s: cv.test_acc.s, v: cv.test_acc.v, cls: "test", name: "test acc" });
          if (cv.train_acc) out.push({ s: cv.train_acc.s, v: cv.train_acc.v, cls: "train", name: "train acc" });
          return { id: run, name: "run " + run, color: colorOf(i, c.runs.length), paths: out, marks: [] };
        });
        chart(cellCharts, { id: "cell", title: "runs of the cell: accuracy (test solid, train dashed)",
          logx: true, ylim: [0, 1.02], ylabel: "accuracy", groups: groups });
      });
      svg.appendChild(rect);
      var t = s("text", { class: "cell-label", x: L + c.xi * cw + cw / 2, y: T + (ny - 1 - c.yi) * ch + ch / 2 + 4,
        "text-anchor": "middle" });
      t.textContent = Math.round(c.share * 100) + "%";
      svg.appendChild(t);
    });
    ph.xs.forEach(function (v, i) {
      var t = s("text", { x: L + i * cw + cw / 2, y: H - B + 14, "text-anchor": "middle" });
      t.textContent = fmt(v);
      svg.appendChild(t);
    });
    ph.ys.forEach(function (v, i) {
      var t = s("text", { x: L - 5, y: T + (ny - 1 - i) * ch + ch / 2 + 4, "text-anchor": "end" });
      t.textContent = fmt(v);
      svg.appendChild(t);
    });
    var xl = s("text", { x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle" });
    xl.textContent = ph.x;
    svg.appendChild(xl);
    var yl = s("text", { transform: "translate(14," + (T + (H - T - B) / 2) + ") rotate(-90)", "text-anchor": "middle" });
    yl.textContent = ph.y;
    svg.appendChild(yl);
    Object.keys(ph.colors).forEach(function (p, i) {
      svg.appendChild(s("rect", { x: W - R + 14, y: T + 10 + i * 20, width: 12, height: 12, fill: ph.colors[p] }));
      var t = s("text", { x: W - R + 32, y: T + 20 + i * 20 });
      t.textContent = p;
      svg.appendChild(t);
    });
  }
  function scalingSection(sc) {
    var box = section("scaling", "Scaling");
    var text = sc.metric + " vs " + sc.x + " of the runs that have a value (" + sc.points.length + " of " +
      sc.total + "), with the power law fitted in log-log: ";
    text += sc.fits.map(function (f) { return (f.by !== null ? sc.by + " = " + fmt(f.by) + ": " : "") +
      (f.c !== null ? sc.metric + " ≈ " + fmt(f.c) + " · x^" + fmt(f.b) : "no fit"); }).join("; ");
    box.appendChild(h("p", { class: "muted", text: text }));
    var grid = h("div", { class: "charts" });
    box.appendChild(grid);
    var byValues = sc.fits.map(function (f) { return f.by; });
    var groups = sc.fits.map(function (f, k) {
      var pts = sc.points.filter(function (p) { return f.by === null || p.by === f.by; });
      pts.sort(function (a, b) { return a.x - b.x; });
      var paths = [{ s: pts.map(function (p) { return p.x; }), v: pts.map(function (p) { return p.t; }),
        dots: true, name: sc.metric }];
      if (f.c !== null && pts.length) {
        var lo = pts[0].x, hi = pts[pts.length - 1].x, xs = [], vs = [];
        for (var i = 0; i <= 20; i++) { var x = lo * Math.pow(hi / lo, i / 20); xs.push(x); vs.push(f.c * Math.pow(x, f.b)); }
        paths.push({ s: xs, v: vs, cls: "fit", name: "fit" });
      }
      return { id: "by-" + k, name: f.by !== null ? sc.by + " = " + fmt(f.by) : "runs", color: colorOf(k, byValues.length), paths: paths, marks: [] };
    });
    var one = chart(grid, { id: "scaling", title: sc.metric + " vs " + sc.x, logx: sc.logx, logy: true,
      xlabel: sc.x, ylabel: sc.metric, groups: groups });
    var keys = h("div", { class: "legend" });
    groups.forEach(function (g) {
      keys.appendChild(h("span", {}, h("span", { class: "swatch", style: "background:" + g.color }), g.name));
    });
    one.appendChild(keys);
  }
  function sweepBody() {
    var hd = D.header;
    app.appendChild(h("h1", { text: D.title }));
    var toc = h("nav", { class: "toc" });
    app.appendChild(toc);
    if (D.live) app.appendChild(h("div", { class: "banner", id: "live", text: D.live.message }));
    var meta = h("dl", { class: "meta" });
    [["runs", hd.runs], ["finished", hd.finished], ["cohorts", hd.cohorts], ["swept", hd.swept.join(", ")],
      ["seeds", hd.seeds], ["training wall-clock", hd.train_seconds != null ? fmt(hd.train_seconds) + " s (sum over cohorts)" : null],
      ["devices", hd.devices], ["torch", hd.torch], ["grokscope", hd.grokscope],
      ["sweep directory", hd.path], ["report made", D.generated + " by grokscope " + D.version]].forEach(function (kv) {
      if (kv[1] === null || kv[1] === undefined || kv[1] === "") return;
      meta.appendChild(h("dt", { text: kv[0] }));
      meta.appendChild(h("dd", { text: String(kv[1]) }));
    });
    app.appendChild(meta);
    if (hd.spec_yaml) app.appendChild(h("details", { class: "yaml" }, h("summary", { text: "sweep spec (YAML)" }), h("pre", { text: hd.spec_yaml })));
    var runsBox = h("section", { id: "runs" }, h("h2", { text: "Runs" }));
    runsBox.appendChild(h("p", { class: "muted", text: "One row per finished run; the cohort links open the report of the cohort that trained it." }));
    var clear = h("button", { text: "show every run" });
    runsBox.appendChild(clear);
    var runsTable = table(runsBox, D.columns, D.runs, { key: "run", name: "runs", select: false,
      links: { column: "cohort", href: function (r) { return D.links[r.run] || null; } } });
    clear.addEventListener("click", function () { runsTable.restrict(null); });
    if (D.phase) phaseSection(D.phase, runsTable);
    if (D.scaling) scalingSection(D.scaling);
    app.appendChild(runsBox);
    finishToc(toc);
  }

  /* ---------- reproduction sections ---------- */
  function reproductionBody() {
    var toc = headerSection(D.header, D.live);
    if (D.header.claim) app.insertBefore(h("p", { text: "Claim: " + D.header.claim }), toc.nextSibling);
    var box = section("checks", "Published vs measured");
    if (D.checks.length) {
      var passed = D.checks.filter(function (c) { return c.ok; }).length;
      box.appendChild(h("div", { class: "banner" + (passed === D.checks.length ? " done" : ""), id: "verdict",
        text: passed + " of " + D.checks.length + " checks pass" }));
      table(box, Object.keys(D.checks[0]), D.checks, { key: "expectation", name: "checks", select: false });
    } else {
      box.appendChild(h("p", { class: "muted", text: "This reproduction states no expectation to check." }));
    }
    var sm = section("summary", "Per setting");
    table(sm, D.summary_columns, D.summary, { key: "setting", name: "summary", select: false });
    if (D.figure) sm.appendChild(h("p", {}, h("img", { class: "figure", src: D.figure, alt: "the reproduction's figure" })));
    runBody(D.members, D.columns);
    finishToc(toc);
  }

  /* ---------- main ---------- */
  var saved = loadState();
  try {  // data the page cannot draw (a damaged file) is said on the page; it still finishes
    if (D.kind === "sweep") sweepBody();
    else if (D.kind === "reproduction") reproductionBody();
    else { var toc = headerSection(D.header, D.live); runBody(D.members, D.columns); finishToc(toc); }
    if (saved.m !== undefined) select(saved.m, true);
  } catch (err) {
    app.appendChild(h("p", { class: "banner", id: "broken",
      text: "Part of this report could not be drawn from its data (" + String(err) + ")." }));
  }
  if (saved.y) window.scrollTo(0, Number(saved.y));
  window.addEventListener("scroll", function () { clearTimeout(state.scrollTimer); state.scrollTimer = setTimeout(saveState, 200); });
  document.body.setAttribute("data-ready", "1");
  if (D.refresh) setTimeout(function () { saveState(); location.reload(); }, D.refresh * 1000);
})();
