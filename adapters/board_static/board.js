/* The command-centre board: a map of the viewer's scope, the lists beside it, the figures; kept
   live by the server's event stream. Every number comes from /board/api/ (checked on the server). */
(function () {
  "use strict";
  var TG = window.GridlineTelegram;
  var STATE_COLOURS = {reported: "#f59e0b", accepted: "#eab308", assigned: "#3b82f6", in_progress: "#6366f1",
    escalated: "#a855f7", reopened: "#ec4899", resolved: "#10b981", closed: "#6b7280", rejected: "#9ca3af"};
  var OPEN = ["reported", "accepted", "assigned", "in_progress", "escalated", "reopened"];
  var words = {texts: {}, states: {}, answers: {}, kinds: {}}, me = null, coords = null, map = null;
  var layers = {}, shown = {numbers: [], cells: 0}, areasByCode = {}, refreshing = null, again = false;
  var lastVersion = -1, tileFailures = 0, chart = null;
  var clockOffset = 0;  // the server's clock minus this screen's: ages are the server's
  function serverTime(iso) { if (iso) clockOffset = new Date(iso).getTime() - Date.now(); }

  function t(text) { return words.texts[text] || text; }
  function stateName(state) { return words.states[state] || state; }
  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function api(path) {
    var headers = TG.inTelegram ? {Authorization: "tma " + TG.initData} : {};
    return fetch("/board/api/" + path, {headers: headers, credentials: "same-origin"}).then(function (response) {
      if (response.status === 401 || response.status === 403) { document.getElementById("denied").hidden = false; throw new Error("denied"); }
      if (!response.ok) throw new Error(path + ": " + response.status);
      return response.json();
    });
  }
  // Dates and spans in the viewer's language and the city's time zone (as the bot says them), by the browser's own tables.
  function locale() { return me && me.language === "zh" ? "zh-CN" : "en-GB"; }
  function when(iso) {
    return new Date(iso).toLocaleString(locale(), {timeZone: me.zone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"});
  }
  function span(count, unit) { return new Intl.NumberFormat(locale(), {style: "unit", unit: unit, unitDisplay: "short"}).format(count); }
  function ago(iso) {
    var minutes = Math.round((Date.now() + clockOffset - new Date(iso).getTime()) / 60000);
    if (Math.abs(minutes) < 60) return span(minutes, "minute");
    var hours = Math.round(minutes / 60);
    if (Math.abs(hours) < 48) return span(hours, "hour");
    return span(Math.round(hours / 24), "day");
  }
  function show(lat, lon) { return coords.show(lat, lon); }

  /* --- start ------------------------------------------------------------------------------- */
  function translatePage() {
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.getAttribute("data-t")); });
    document.documentElement.lang = words.language;
    document.title = t("Command centre") + " · Gridline";
  }
  function fillFilters() {
    var state = document.getElementById("f-state");
    var choices = [["open", t("Open cases")], ["overdue", t("Overdue only")], ["waiting", t("Waiting for a dispatcher")]]
      .concat(Object.keys(STATE_COLOURS).map(function (s) { return [s, stateName(s)]; })).concat([["all", t("All")]]);
    state.innerHTML = choices.map(function (c) { return '<option value="' + c[0] + '">' + esc(c[1]) + "</option>"; }).join("");
    var category = document.getElementById("f-category");
    me.categories.filter(function (c) { return !c.parent; }).forEach(function (c) {
      var option = document.createElement("option");
      option.value = c.code; option.textContent = c.names[me.language] || c.names.en || c.code;
      category.appendChild(option);
    });
    ["f-area", "f-category", "f-state", "f-days"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", function () { markKpi(); refresh(); });
    });
    document.getElementById("f-heat").addEventListener("change", refresh);
    document.getElementById("f-checkins").addEventListener("change", refresh);
    document.querySelectorAll(".kpi[data-state]").forEach(function (button) {
      button.addEventListener("click", function () {
        state.value = button.getAttribute("data-state"); markKpi(); refresh();
      });
    });
    document.getElementById("kpi-callouts").addEventListener("click", function () {
      document.getElementById("p-callouts").scrollIntoView({behavior: "smooth"});
    });
  }
  function markKpi() {
    var state = document.getElementById("f-state").value;
    document.querySelectorAll(".kpi[data-state]").forEach(function (b) { b.classList.toggle("active", b.getAttribute("data-state") === state); });
  }
  function legend() {
    var rows = OPEN.map(function (s) { return '<span><i style="background:' + STATE_COLOURS[s] + '"></i>' + esc(stateName(s)) + "</span>"; });
    rows.push('<span><i class="lateicon" style="background:#fff"></i>' + esc(t("Overdue")) + "</span>");
    rows.push('<span><i class="bubble"></i>' + esc(t("Cases grouped")) + "</span>");
    rows.push('<span><i class="bubble late"></i>' + esc(t("Group with overdue")) + "</span>");
    rows.push("<span>🚨 " + esc(t("Live call-outs")) + "</span>");
    rows.push('<span><i style="background:#0ea5e9;border-radius:0;transform:rotate(45deg)"></i>' + esc(t("Check-ins today")) + "</span>");
    document.getElementById("legend").innerHTML = rows.join("");
  }

  function startMap() {
    map = L.map("map", {zoomControl: true, attributionControl: true, maxZoom: 19, minZoom: 3, zoomSnap: 0.25});
    if (me.tiles) {
      var tiles = L.tileLayer(me.tiles, {maxZoom: 19, attribution: me.tiles.indexOf("openstreetmap") >= 0 ? "© OpenStreetMap" : ""});
      tiles.on("tileerror", function () {
        tileFailures += 1;
        if (tileFailures >= 4) { document.getElementById("tiles-note").hidden = false; document.getElementById("map").classList.add("blank"); }
      });
      tiles.on("tileload", function () { tileFailures = 0; document.getElementById("tiles-note").hidden = true; });
      tiles.addTo(map);
    } else {
      document.getElementById("map").classList.add("blank");
      document.getElementById("tiles-note").hidden = false;
    }
    layers.areas = L.layerGroup().addTo(map);
    layers.cells = L.layerGroup().addTo(map);
    layers.cases = L.markerClusterGroup({disableClusteringAtZoom: 16, showCoverageOnHover: false, maxClusterRadius: 45,
      iconCreateFunction: function (cluster) {
        var late = cluster.getAllChildMarkers().some(function (m) { return m.options.late; });
        return L.divIcon({html: "<div>" + cluster.getChildCount() + "</div>", className: "marker-cluster" + (late ? " haslate" : ""), iconSize: [40, 40]});
      }}).addTo(map);
    layers.callouts = L.layerGroup().addTo(map);
    layers.checkins = L.layerGroup().addTo(map);
    map.on("moveend", function () { refresh(); });
  }

  function drawAreas(areas) {
    var bounds = null;
    areas.forEach(function (area) {
      areasByCode[area.code] = area;
      var geometry = JSON.parse(area.geometry);
      var top = area.level !== "grid";
      var layer = L.geoJSON(geometry, {
        coordsToLatLng: function (c) { var p = show(c[1], c[0]); return L.latLng(p[0], p[1]); },
        style: {color: top ? "#1e3a8a" : "#475569", weight: top ? 2.5 : 1, opacity: top ? 0.8 : 0.6, fill: !top,
                fillColor: "#93c5fd", fillOpacity: top ? 0.04 : 0, dashArray: top ? null : "3 3"}
      });
      // Named on the map: the areas just inside the viewer's own (a leader's grids themselves).
      var labelled = me.roots.indexOf(area.parent) >= 0 || (me.roots.indexOf(area.code) >= 0 && area.level === "grid");
      if (labelled) layer.bindTooltip(esc(area.name), {permanent: true, direction: "center", className: "area-label"});
      else layer.bindTooltip(esc(area.name), {sticky: true});
      layer.addTo(layers.areas);
      if (me.roots.indexOf(area.code) >= 0 || (me.everything && !area.parent)) {
        bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
      }
    });
    var select = document.getElementById("f-area");
    function add(code, depth) {
      var area = areasByCode[code];
      if (!area) return;
      var option = document.createElement("option");
      option.value = code; option.textContent = "\u2003".repeat(depth) + area.name;
      select.appendChild(option);
      areas.filter(function (a) { return a.parent === code; }).forEach(function (a) { add(a.code, depth + 1); });
    }
    areas.filter(function (a) { return !areasByCode[a.parent]; }).forEach(function (a) { add(a.code, 0); });
    if (bounds && bounds.isValid()) map.fitBounds(bounds, {padding: [12, 12]});
    else map.setView([30, 115], 5);
  }

  /* --- what is on the map ------------------------------------------------------------------ */
  function bbox() {
    var b = map.getBounds(), sw = coords.store(b.getSouth(), b.getWest()), ne = coords.store(b.getNorth(), b.getEast());
    return [sw[0], sw[1], ne[0], ne[1]].map(function (v) { return v.toFixed(6); }).join(",");
  }
  function filterQuery() {
    var q = new URLSearchParams();
    q.set("bbox", bbox());
    [["area", "f-area"], ["category", "f-category"], ["state", "f-state"], ["days", "f-days"]].forEach(function (pair) {
      var value = document.getElementById(pair[1]).value;
      if (value) q.set(pair[0], value);
    });
    return q.toString();
  }
  function caseMarker(point) {
    var p = show(point.lat, point.lon);
    var icon = L.divIcon({className: "", iconSize: [16, 16], iconAnchor: [8, 8],
      html: '<div class="case-dot' + (point.overdue ? " late" : "") + '" data-case="' + esc(point.number) + '" style="background:' +
        (STATE_COLOURS[point.state] || "#64748b") + '"></div>'});
    var marker = L.marker(p, {icon: icon, late: point.overdue, title: point.number + " · " + stateName(point.state)});
    marker.on("click", function () { openCase(point.id); });
    return marker;
  }
  function drawCases(found) {
    layers.cases.clearLayers();
    layers.cells.clearLayers();
    shown.numbers = found.points.map(function (p) { return p.number; });
    shown.cells = found.cells.length;
    layers.cases.addLayers(found.points.map(caseMarker));
    found.cells.forEach(function (cell) {
      var size = Math.round(Math.min(64, 24 + Math.sqrt(cell.count) * 2));
      var icon = L.divIcon({className: "", iconSize: [size, size], iconAnchor: [size / 2, size / 2],
        html: '<div class="cell' + (cell.overdue ? " haslate" : "") + '" style="width:' + size + "px;height:" + size + 'px" title="' +
          cell.count + " " + esc(t("cases here")) + (cell.overdue ? ", " + cell.overdue + " " + esc(t("overdue")) : "") + '">' + cell.count + "</div>"});
      var marker = L.marker(show(cell.lat, cell.lon), {icon: icon});
      marker.on("click", function () { map.setView(marker.getLatLng(), map.getZoom() + 2); });
      layers.cells.addLayer(marker);
    });
  }
  function drawHeat(points) {
    if (layers.heat) { map.removeLayer(layers.heat); layers.heat = null; }
    if (!document.getElementById("f-heat").checked || !points.length) return;
    var most = Math.max.apply(null, points.map(function (p) { return p[2]; }));
    layers.heat = L.heatLayer(points.map(function (p) { var q = show(p[0], p[1]); return [q[0], q[1], p[2] / most]; }),
      {radius: 22, blur: 18, minOpacity: 0.25}).addTo(map);
  }
  function rollCall(callout) {
    var counts = callout.counts;
    return '<div class="roll">' + ["coming", "arrived", "cannot", "none"].map(function (row) {
      return '<span class="' + row + '">' + esc(words.answers[row] || row) + " <b>" + (counts[row] || 0) + "</b></span>";
    }).join("") + (callout.need ? "<span>👥 " + esc(t("needed")) + " <b>" + callout.need + "</b></span>" : "") + "</div>";
  }
  function drawCallouts(callouts) {
    layers.callouts.clearLayers();
    callouts.forEach(function (c) {
      if (c.lat == null) return;
      var p = show(c.lat, c.lon);
      if (c.radius_m) L.circle(p, {radius: c.radius_m, color: "#b91c1c", weight: 1.5, fillOpacity: 0.06, dashArray: "6 4"}).addTo(layers.callouts);
      L.marker(p, {icon: L.divIcon({className: "", html: '<div class="callout-icon">🚨</div>', iconSize: [28, 28], iconAnchor: [14, 14]}), zIndexOffset: 1000})
        .bindPopup("<b>" + esc(c.headline || "") + "</b>" + (c.drill ? " (" + esc(t("drill")) + ")" : "") + rollCall(c))
        .addTo(layers.callouts);
    });
    var list = document.querySelector("#p-callouts .list");
    document.querySelector("#p-callouts .count").textContent = callouts.length;
    document.querySelector("#kpi-callouts b").textContent = callouts.length;
    list.innerHTML = callouts.length ? "" : '<li class="empty">' + esc(t("Nothing here.")) + "</li>";
    callouts.forEach(function (c) {
      var li = document.createElement("li");
      li.className = "callout";
      li.innerHTML = "<div><b>🚨 " + esc(c.headline || "") + "</b>" + (c.drill ? " · " + esc(t("drill")) : "") +
        (c.sent_at ? ' <span class="when">' + esc(ago(c.sent_at)) + "</span>" : "") + "</div>" + rollCall(c);
      li.addEventListener("click", function () { if (c.lat != null) map.setView(show(c.lat, c.lon), Math.max(map.getZoom(), 15)); });
      list.appendChild(li);
    });
  }
  function drawCheckins(checkins) {
    layers.checkins.clearLayers();
    if (!document.getElementById("f-checkins").checked) return;
    checkins.forEach(function (c) {
      L.marker(show(c.lat, c.lon), {icon: L.divIcon({className: "", html: '<div class="checkin-icon"></div>', iconSize: [10, 10]})})
        .bindTooltip(esc(c.name) + " · " + esc(when(c.at))).addTo(layers.checkins);
    });
  }
  function drawList(id, cases, late) {
    var list = document.querySelector("#" + id + " .list");
    document.querySelector("#" + id + " .count").textContent = cases.length;
    list.innerHTML = cases.length ? "" : '<li class="empty">' + esc(t("Nothing here.")) + "</li>";
    cases.forEach(function (c) {
      var li = document.createElement("li");
      li.setAttribute("data-case", c.number);
      li.innerHTML = '<span class="num"><span class="pill" style="background:' + (STATE_COLOURS[c.state] || "#64748b") + '">&nbsp;</span> ' + esc(c.number) + "</span>" +
        '<span class="what">' + esc(c.area || "") + " · " + esc(categoryName(c.category)) + "</span>" +
        '<span class="when' + (late ? " late" : "") + '">' + (late ? "⏰ " + esc(t("overdue")) + " " + esc(ago(c.deadline_at)) : "⏳ " + esc(ago(c.created_at))) + "</span>";
      li.addEventListener("click", function () {
        if (c.lat != null) map.setView(show(c.lat, c.lon), Math.max(map.getZoom(), 16));
        openCase(c.id);
      });
      list.appendChild(li);
    });
  }
  function categoryName(code) {
    var found = me.categories.filter(function (c) { return c.code === code; })[0];
    return found ? (found.names[me.language] || found.names.en || code) : code;
  }
  function drawTotals(totals) {
    document.querySelector("#kpi-open b").textContent = totals.open;
    document.querySelector("#kpi-overdue b").textContent = totals.overdue;
    document.querySelector("#kpi-waiting b").textContent = totals.waiting;
  }
  function pct(v) { return v == null ? "–" : Math.round(v * 1000) / 10 + "%"; }
  function drawFigures(figures) {
    var o = figures.overall;
    document.getElementById("overall").innerHTML = [["On time", o.on_time], ["Closed", o.closure], ["Satisfied", o.satisfaction]]
      .map(function (f) { return "<div><b>" + pct(f[1]) + "</b><span>" + esc(t(f[0])) + "</span></div>"; }).join("");
    var grids = figures.per_grid.slice().sort(function (a, b) { return b.total - a.total; }).slice(0, 10);
    var data = {labels: grids.map(function (g) { return g.name + " (" + g.total + ")"; }), datasets: [
      {label: t("On time"), data: grids.map(function (g) { return g.on_time == null ? null : Math.round(g.on_time * 100); }), backgroundColor: "#3b82f6"},
      {label: t("Closed"), data: grids.map(function (g) { return g.closure == null ? null : Math.round(g.closure * 100); }), backgroundColor: "#10b981"},
      {label: t("Satisfied"), data: grids.map(function (g) { return g.satisfaction == null ? null : Math.round(g.satisfaction * 100); }), backgroundColor: "#f59e0b"}]};
    if (chart) { chart.data = data; chart.update("none"); return; }
    chart = new Chart(document.getElementById("chart"), {type: "bar", data: data, options: {indexAxis: "y", responsive: true,
      maintainAspectRatio: false, animation: false, scales: {x: {min: 0, max: 100, ticks: {callback: function (v) { return v + "%"; }}}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 12}}}}});
  }

  /* --- a case ------------------------------------------------------------------------------ */
  function openCase(id) {
    api("case/" + id).then(function (c) {
      var late = OPEN.indexOf(c.state) >= 0 && new Date(c.deadline_at).getTime() < Date.now() + clockOffset;
      var html = "<h3>" + esc(c.number) + ' <span class="pill" style="background:' + (STATE_COLOURS[c.state] || "#64748b") + '">' + esc(stateName(c.state)) + "</span>" +
        (late ? ' <span class="pill" style="background:#dc2626">⏰ ' + esc(t("Overdue")) + "</span>" : "") + "</h3>" +
        "<div>" + esc(categoryName(c.category)) + " · " + esc(c.area || "") + "</div>" +
        (c.description ? "<p>" + esc(c.description) + "</p>" : "") +
        "<dl><dt>" + esc(t("Holder")) + "</dt><dd>" + esc(c.holder || t("Nobody yet")) + "</dd>" +
        "<dt>" + esc(t("Reported")) + "</dt><dd>" + esc(when(c.created_at)) + "</dd>" +
        "<dt>" + esc(t("Deadline")) + '</dt><dd style="' + (late ? "color:#dc2626;font-weight:600" : "") + '">' + esc(when(c.deadline_at)) + "</dd>" +
        (c.address ? "<dt>📍</dt><dd>" + esc(c.address) + "</dd>" : "") + "</dl>";
      if (c.photos.length) {
        html += "<h4>" + esc(t("Photos")) + '</h4><div class="photos">' + c.photos.map(function (p) {
          return '<a href="' + esc(p.url) + '" target="_blank" rel="noreferrer"><img loading="lazy" alt="" src="' + esc(p.url) + '"></a>';
        }).join("") + "</div>";
      }
      html += "<h4>" + esc(t("History")) + '</h4><ol class="history">' + c.history.map(function (e) {
        var what = e.to ? stateName(e.to) : (words.kinds[e.kind] || e.kind);
        return "<li><time>" + esc(when(e.at)) + "</time><b>" + esc(what) + "</b>" + (e.by ? " · " + esc(e.by) : "") +
          (e.note ? " — " + esc(e.note) : "") + "</li>";
      }).join("") + "</ol>";
      document.getElementById("detail-body").innerHTML = html;
      document.getElementById("detail").hidden = false;
    }).catch(function () {});
  }
  document.getElementById("detail-close").addEventListener("click", function () { document.getElementById("detail").hidden = true; });
  document.getElementById("detail").addEventListener("click", function (e) { if (e.target.id === "detail") e.target.hidden = true; });

  /* --- keeping it live --------------------------------------------------------------------- */
  function refresh() {
    if (!map) return Promise.resolve();
    if (refreshing) { again = true; return refreshing; }
    var q = filterQuery();
    refreshing = Promise.all([
      api("cases?" + q).then(function (found) { drawCases(found); lastVersion = Math.max(lastVersion, found.version); }),
      api("lists").then(function (found) { serverTime(found.now); drawList("p-waiting", found.waiting, false); drawList("p-overdue", found.overdue, true); drawTotals(found.totals); }),
      api("callouts").then(function (found) { drawCallouts(found.callouts); }),
      api("checkins").then(function (found) { drawCheckins(found.checkins); }),
      document.getElementById("f-heat").checked ? api("heat?bbox=" + bbox()).then(function (found) { drawHeat(found.heat); }) : Promise.resolve(drawHeat([]))
    ]).then(function () {
      document.getElementById("updated").textContent = t("updated") + " " + new Date().toLocaleTimeString(locale(), {timeZone: me.zone});
      document.body.setAttribute("data-version", String(lastVersion));
    }).catch(function (e) { console.warn(e); }).then(function () {
      refreshing = null;
      if (again) { again = false; refresh(); }
    });
    return refreshing;
  }
  function figures() { return api("figures").then(drawFigures).catch(function () {}); }
  function listen() {
    var url = "/board/api/events" + (TG.inTelegram ? "?tma=" + encodeURIComponent(TG.initData) : "");
    var stream = new EventSource(url), live = document.getElementById("live");
    stream.addEventListener("change", function (e) {
      live.classList.remove("down");
      document.getElementById("live-text").textContent = t("Live");
      if (Number(e.data) !== lastVersion) refresh();
    });
    stream.onerror = function () { live.classList.add("down"); document.getElementById("live-text").textContent = t("Reconnecting…"); };
  }

  window.gridlineBoard = {
    numbers: function () { return shown.numbers.slice(); },
    cells: function () { return shown.cells; },
    refresh: refresh, openCase: openCase, map: function () { return map; },
    ready: false
  };

  api("me").then(function (found) {
    me = found;
    serverTime(me.now);
    coords = window.GridlineCoords(me.coordinates);
    document.getElementById("who").textContent = me.name;
    return fetch("/board/api/i18n?lang=" + encodeURIComponent(me.language)).then(function (r) { return r.json(); });
  }).then(function (found) {
    words = found;
    translatePage(); fillFilters(); legend(); markKpi();
    startMap();
    return api("areas");
  }).then(function (found) {
    drawAreas(found.areas);
    return refresh();
  }).then(function () {
    figures();  // the month's figures come after the map: it does not wait for them
    listen();
    setInterval(figures, 60000);
    setInterval(refresh, 60000);  // deadlines pass without any change in the store
    window.gridlineBoard.ready = true;
    document.body.setAttribute("data-ready", "1");
    if (TG.inTelegram) TG.ready();
  }).catch(function (e) { console.warn(e); });
})();
