/* Wangge planner's dashboard (/dashboards/grids).
 *
 * WanggeGrids.violations: the violations of the grid rules on the map (by severity, popups in
 *   the page language) and a side list whose entries zoom to each; dry-run results are shown
 *   in a second section and layer ("preview"), new errors highlighted.
 * WanggeGrids.editor: Leaflet.draw tools for planners: draw a new grid, reshape a grid by its
 *   vertices, split a grid by a line. Every change is sent first as a dry run (?dry_run=true:
 *   the same request as the save, nothing written); "Save" then makes the real call. A refusal
 *   (422) shows its violations; a saved change reloads the page.
 *
 * The page hands in its values as JSON (never as code). Text reaches the page through
 * textContent; the only innerHTML is Leaflet.draw's tooltips, which get escaped constants.
 * Requests go to this origin only, with the page's ?token as a Bearer token.
 */
(function () {
  "use strict";

  var FLASH_KEY = "wangge-grids-flash";

  function el(tag, cls, parent, text) {
    var e = L.DomUtil.create(tag, cls || "", parent);
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  function pick(pair, lang) {
    return pair ? (pair[lang] || pair["zh-CN"] || "") : "";
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function ensurePane(map, name, zIndex) {
    if (!map.getPane(name)) { map.createPane(name).style.zIndex = String(zIndex); }
    return name;
  }

  function panel(map, position, cls, build) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = el("div", "wg-panel " + cls);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      build(div);
      return div;
    };
    control.addTo(map);
    return control;
  }

  function featureKey(f) {
    var p = f.properties || {};
    return JSON.stringify([p.kind, p.grids, p.buildings, p.value]);
  }

  function eachGrid(layers, fn) {
    layers.forEach(function (group) {
      if (group) { group.eachLayer(function (l) { if (l.feature) { fn(l); } }); }
    });
  }

  // ---- violations ---------------------------------------------------------------------------

  function violations(map, layers, cfg) {
    var labels = cfg.labels;
    var base = ensurePane(map, "wg-violations", 460);
    var over = ensurePane(map, "wg-preview", 470);
    var listDiv = null;
    var preview = null;  // {title, entries}

    function style(p, isNew, context) {
      var color = isNew ? cfg.colors["new"] : (cfg.colors[p.severity] || cfg.colors.warning);
      var whole = cfg.whole_grid_kinds.indexOf(p.kind) >= 0;
      return {color: color, weight: isNew ? 4 : (whole ? 2.5 : 2), opacity: context ? 0.6 : 1,
              dashArray: whole ? "6 4" : null, fill: !whole, fillColor: color,
              fillOpacity: isNew ? 0.55 : (context ? 0.2 : 0.45),
              className: isNew ? "wg-new-error" : "wg-violation wg-" + p.severity};
    }

    function popup(p, isNew) {
      var div = el("div", "wg-violation-popup");
      el("div", "wg-vtitle", div, (isNew ? labels.new_error + " · " : "") + pick(p.title, cfg.lang));
      el("p", "wg-vmessage", div, pick(p.message, cfg.lang));
      var dl = el("dl", "", div);
      function row(k, v) { if (v) { el("dt", "", dl, k); el("dd", "", dl, v); } }
      row(labels.severity, labels["severity_" + p.severity]);
      row(labels.grids, (p.grids || []).join("、"));
      row(labels.buildings, (p.buildings || []).join("、"));
      return div;
    }

    function entry(feature, isNew, pane, context) {
      var p = feature.properties;
      var layer = null;
      if (feature.geometry) {
        layer = L.geoJSON(feature, {
          pane: pane,
          style: function () { return style(p, isNew, context); },
          pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {radius: 7, pane: pane}); }
        });
        layer.bindPopup(popup(p, isNew), {autoPan: false});
      }
      return {feature: feature, layer: layer, isNew: isNew};
    }

    var baseline = (cfg.features.features || []).map(function (f) { return entry(f, false, base, false); });
    baseline.forEach(function (it) { if (it.layer) { layers.group.addLayer(it.layer); } });

    function gridBounds(codes) {
      var bounds = L.latLngBounds([]);
      eachGrid(layers.grids, function (l) {
        if (codes.indexOf(String(l.feature.properties.code)) >= 0 && l.getBounds) { bounds.extend(l.getBounds()); }
      });
      return bounds;
    }

    function zoomTo(it) {
      var bounds = it.layer ? it.layer.getBounds() : gridBounds(it.feature.properties.grids || []);
      if (!bounds.isValid()) { return; }
      map.fitBounds(bounds, {maxZoom: cfg.max_zoom, padding: [40, 40], animate: false});
      if (it.layer) {
        if (it.layer.bringToFront) { it.layer.bringToFront(); }
        it.layer.openPopup(bounds.getCenter());
      }
    }

    function section(title, items, cls) {
      el("h2", "", listDiv, title);
      if (!items.length) { el("p", "wg-empty", listDiv, labels.empty); return; }
      var ul = el("ul", "wg-vlist " + cls, listDiv);
      items.forEach(function (it) {
        var p = it.feature.properties;
        var li = el("li", "wg-v wg-" + p.severity + (it.isNew ? " wg-new" : ""), ul);
        li.setAttribute("data-kind", p.kind);
        li.setAttribute("data-grids", (p.grids || []).join(","));
        var b = el("button", "", li);
        b.type = "button";
        b.title = pick(p.message, cfg.lang);
        el("span", "wg-badge", b, it.isNew ? labels.new_error : labels["severity_" + p.severity]);
        el("span", "wg-vname", b, pick(p.title, cfg.lang));
        el("span", "wg-vwhere", b, (p.grids || []).join("、") || (p.buildings || []).join("、"));
        L.DomEvent.on(b, "click", function () { zoomTo(it); });
      });
    }

    function render() {
      if (!listDiv) { return; }
      listDiv.textContent = "";
      if (preview) { section(preview.title, preview.entries, "wg-preview-list"); }
      section(fmt(labels.title, cfg.summary), baseline, "wg-baseline-list");
    }

    panel(map, cfg.position, "wg-violations", function (div) { listDiv = div; render(); });

    function clearPreview() {
      if (layers.preview) { layers.preview.clearLayers(); }
      preview = null;
      render();
    }

    /* Show the violations a change would leave (``fc``) with its new errors (``newFc``)
       highlighted; new errors come first in the list. */
    function showPreview(title, fc, newFc) {
      clearPreview();
      var isNew = {};
      var entries = (newFc.features || []).map(function (f) { isNew[featureKey(f)] = true; return entry(f, true, over, false); });
      (fc.features || []).forEach(function (f) {
        if (!isNew[featureKey(f)]) { entries.push(entry(f, false, over, true)); }
      });
      if (layers.preview) {
        entries.slice().reverse().forEach(function (it) { if (it.layer) { layers.preview.addLayer(it.layer); } });
        if (!map.hasLayer(layers.preview)) { map.addLayer(layers.preview); }
      }
      preview = {title: title, entries: entries};
      render();
      return entries;
    }

    return {showPreview: showPreview, clearPreview: clearPreview, zoomTo: zoomTo,
            entries: function () { return {baseline: baseline, preview: preview ? preview.entries : []}; }};
  }

  // ---- geometry helpers for the editor ------------------------------------------------------

  function ringContains(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }

  function geometryContains(g, x, y) {
    var polys = g.type === "Polygon" ? [g.coordinates] : (g.type === "MultiPolygon" ? g.coordinates : []);
    return polys.some(function (rings) {
      return ringContains(rings[0], x, y) && !rings.slice(1).some(function (h) { return ringContains(h, x, y); });
    });
  }

  function centroid(g) {
    var ring = g.type === "Polygon" ? g.coordinates[0] : g.coordinates[0][0];
    var a = 0, cx = 0, cy = 0;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += f; cx += (ring[j][0] + ring[i][0]) * f; cy += (ring[j][1] + ring[i][1]) * f;
    }
    if (Math.abs(a) < 1e-18) { return [ring[0][0], ring[0][1]]; }
    return [cx / (3 * a), cy / (3 * a)];
  }

  /* A single-part (Multi)Polygon as Leaflet rings, or null for several parts. */
  function singlePolygonLatLngs(g) {
    var rings = g.type === "Polygon" ? g.coordinates : (g.coordinates.length === 1 ? g.coordinates[0] : null);
    if (!rings) { return null; }
    return rings.map(function (ring) {
      return ring.slice(0, -1).map(function (c) { return L.latLng(c[1], c[0]); });
    });
  }

  // ---- the editor ---------------------------------------------------------------------------

  function localiseDraw(text) {
    var h = L.drawLocal.draw.handlers;
    h.polygon.tooltip = {start: escapeHtml(text.polygon_start), cont: escapeHtml(text.polygon_cont),
                         end: escapeHtml(text.polygon_end)};
    h.polyline.tooltip = {start: escapeHtml(text.line_start), cont: escapeHtml(text.line_cont),
                          end: escapeHtml(text.line_end)};
    h.polyline.error = escapeHtml(text.line_error);
  }

  function editor(map, layers, cfg) {
    var text = cfg.text;
    localiseDraw(text);
    var pane = ensurePane(map, "wg-draft", 480);
    var draftStyle = {color: cfg.colors.draft, weight: 3, dashArray: "6 4", fillColor: cfg.colors.draft,
                      fillOpacity: 0.15, pane: pane, className: "wg-draft"};
    var draftLayer = L.featureGroup().addTo(map);
    var selectionLayer = L.featureGroup().addTo(map);
    var token = new URLSearchParams(window.location.search).get("token");
    var state = {selected: null, handler: null, mode: "idle", draft: null, seq: 0, checked: null,
                 busy: false, timer: null};
    var ui = {};

    // -- requests: the dry run and the save are the same request but for ?dry_run=true --
    function headers() {
      var h = {"Content-Type": "application/json", "Accept": "application/json"};
      if (token) { h.Authorization = "Bearer " + token; }
      return h;
    }

    function endpoint(d) {
      var q = "?jurisdiction=" + encodeURIComponent(cfg.jurisdiction);
      var grid = cfg.api + "/grids/" + encodeURIComponent(d.code || "");
      if (d.operation === "create") {
        return {method: "POST", url: cfg.api + "/grids" + q,
                body: {name: d.name, parent: d.parent, geometry: d.geometry}};
      }
      if (d.operation === "reshape") { return {method: "PUT", url: grid + "/geometry" + q, body: {geometry: d.geometry}}; }
      if (d.operation === "split") { return {method: "POST", url: grid + "/split" + q, body: {line: d.line}}; }
      throw new Error("unknown operation " + d.operation);
    }

    function send(d, dryRun) {
      var e = endpoint(d);
      return fetch(e.url + (dryRun ? "&dry_run=true" : ""), {
        method: e.method, headers: headers(), body: JSON.stringify(e.body), credentials: "same-origin"
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          return {status: r.status, ok: r.ok, body: body};
        });
      });
    }

    function errorMessage(res) {
      var err = (res.body && res.body.error) || {};
      return (err.messages && (err.messages[cfg.lang] || err.messages["zh-CN"])) || err.message || ("HTTP " + res.status);
    }

    // -- panel --
    function button(parent, key, onClick) {
      var b = el("button", "wg-btn wg-btn-" + key, parent, text[key]);
      b.type = "button";
      L.DomEvent.on(b, "click", function () { onClick(); });
      return b;
    }

    panel(map, cfg.position, "wg-editor", function (div) {
      el("h2", "", div, text.title);
      ui.selected = el("p", "wg-selected", div, text.hint_select);
      var tools = el("div", "wg-tools", div);
      ui.create = button(tools, "create", function () { startDraw("create"); });
      ui.reshape = button(tools, "reshape", function () { startReshape(); });
      ui.split = button(tools, "split", function () { startDraw("split"); });
      ui.createFields = el("div", "wg-create-fields", div);
      var nameLabel = el("label", "", ui.createFields, text.name);
      ui.name = el("input", "", nameLabel);
      ui.name.type = "text";
      ui.name.value = text.default_name;
      var parentLabel = el("label", "", ui.createFields, text.parent);
      ui.parent = el("select", "", parentLabel);
      (cfg.parents || []).forEach(function (p) {
        var o = el("option", "", ui.parent, p[0] + " " + p[1]);
        o.value = p[0];
      });
      L.DomEvent.on(ui.parent, "change", function () {
        if (state.draft && state.draft.operation === "create") { state.draft.parent = ui.parent.value; check(); }
      });
      ui.drawing = el("div", "wg-drawing", div);
      button(ui.drawing, "finish", function () { if (state.handler && state.handler.completeShape) { state.handler.completeShape(); } });
      button(ui.drawing, "undo", function () { if (state.handler && state.handler.deleteLastVertex) { state.handler.deleteLastVertex(); } });
      ui.status = el("p", "wg-status", div);
      ui.status.setAttribute("role", "status");
      ui.status.setAttribute("aria-live", "polite");
      var actions = el("div", "wg-actions", div);
      ui.save = button(actions, "save", function () { save(); });
      ui.cancel = button(actions, "cancel", function () { cancel(); });
    });

    function setStatus(kind, message) {
      ui.status.textContent = message || "";
      ui.status.setAttribute("data-state", kind);
    }

    function refresh() {
      var sel = state.selected;
      ui.selected.textContent = sel ? fmt(text.selected, {code: sel, name: cfg.names[sel] || ""}) : text.hint_select;
      ui.create.disabled = state.busy || !(cfg.parents || []).length;
      ui.reshape.disabled = ui.split.disabled = state.busy || !sel;
      var creating = state.mode === "create" || (state.draft && state.draft.operation === "create");
      ui.createFields.style.display = creating ? "" : "none";
      ui.drawing.style.display = state.handler ? "" : "none";
      ui.save.disabled = state.busy || !state.draft || !state.checked || state.checked.seq !== state.seq;
      ui.cancel.disabled = state.busy || (!state.draft && !state.handler);
    }

    // -- selection --
    function gridLayer(code) {
      var found = null;
      layers.basic.eachLayer(function (l) { if (l.feature && String(l.feature.properties.code) === code) { found = l; } });
      return found;
    }

    function select(code) {
      var l = gridLayer(String(code));
      selectionLayer.clearLayers();
      state.selected = l ? String(code) : null;
      if (l) {
        L.geoJSON(l.feature, {pane: pane, interactive: false,
                              style: {color: "#08306b", weight: 4, fill: false, className: "wg-selected-grid"}})
          .addTo(selectionLayer);
      }
      refresh();
      return state.selected;
    }

    layers.basic.on("click", function (e) {
      if (!state.draft && !state.handler && !state.busy && e.layer && e.layer.feature) {
        select(e.layer.feature.properties.code);
      }
    });

    // -- drafts --
    function stopHandler() {
      if (state.handler) { var h = state.handler; state.handler = null; h.disable(); }
    }

    function clearDraft() {
      stopHandler();
      if (state.timer) { clearTimeout(state.timer); state.timer = null; }
      draftLayer.clearLayers();
      state.draft = null;
      state.checked = null;
      state.mode = "idle";
      state.seq += 1;
      layers.violations.clearPreview();
    }

    function cancel() {
      clearDraft();
      setStatus("idle", "");
      refresh();
    }

    function guessParent(geometry) {
      var c = centroid(geometry), found = null;
      if (layers.parents) {
        layers.parents.eachLayer(function (l) {
          if (!found && l.feature && geometryContains(l.feature.geometry, c[0], c[1])) { found = String(l.feature.properties.code); }
        });
      }
      return found;
    }

    function startDraw(mode) {
      clearDraft();
      if (mode === "split" && !state.selected) { setStatus("failed", text.need_selection); refresh(); return; }
      state.mode = mode;
      map.closePopup();
      state.handler = mode === "create"
        ? new L.Draw.Polygon(map, {allowIntersection: false, showArea: false, shapeOptions: draftStyle})
        : new L.Draw.Polyline(map, {shapeOptions: L.extend({}, draftStyle, {fill: false})});
      state.handler.enable();
      setStatus("drawing", mode === "create" ? text.drawing_polygon : text.drawing_line);
      refresh();
    }

    map.on(L.Draw.Event.DRAWSTOP, function () {
      state.handler = null;
      if (!state.draft) { state.mode = "idle"; }
      refresh();
    });

    map.on(L.Draw.Event.CREATED, function (e) {
      var geometry = e.layer.toGeoJSON(false).geometry;
      if (e.layerType === "polygon") {
        propose({operation: "create", name: ui.name.value, parent: null, geometry: geometry}, e.layer);
      } else if (e.layerType === "polyline") {
        propose({operation: "split", code: state.selected, line: geometry}, e.layer);
      }
    });

    function editable(geometry) {
      var latlngs = singlePolygonLatLngs(geometry);
      if (!latlngs) { return null; }
      var poly = L.polygon(latlngs, draftStyle);
      draftLayer.addLayer(poly);
      poly.editing.enable();
      poly.on("edit", function () {
        state.draft.geometry = poly.toGeoJSON(false).geometry;
        state.seq += 1;
        state.checked = null;
        refresh();
        if (state.timer) { clearTimeout(state.timer); }
        state.timer = setTimeout(function () { state.timer = null; check(); }, 250);
      });
      return poly;
    }

    /* Make ``d`` the draft ({operation: create|reshape|split, ...}) and dry-run it. ``layer``:
       the drawn shape, if any (else one is made from the draft's geometry). */
    function propose(d, layer) {
      clearDraft();
      if ((d.operation === "split" || d.operation === "reshape") && !d.code) {
        setStatus("failed", text.need_selection); refresh();
        return Promise.resolve(null);
      }
      if (d.operation === "create") {
        d.parent = d.parent || guessParent(d.geometry) || (ui.parent.value || null);
        if (d.parent) { ui.parent.value = d.parent; }
        d.name = d.name || ui.name.value;
      }
      if (d.code) { select(d.code); }
      state.draft = d;
      state.mode = d.operation;
      if (d.operation === "reshape") {
        if (!editable(d.geometry)) { clearDraft(); setStatus("failed", text.multipart); refresh(); return Promise.resolve(null); }
      } else {
        layer = layer || L.geoJSON(d.geometry || d.line, {style: draftStyle, pane: pane});
        if (layer.setStyle) { layer.setStyle(draftStyle); }
        draftLayer.addLayer(layer);
      }
      return check();
    }

    function check() {
      var d = state.draft;
      if (!d) { return Promise.resolve(null); }
      if (d.operation === "create" && !d.parent) { setStatus("failed", text.need_parent); refresh(); return Promise.resolve(null); }
      var seq = ++state.seq;
      state.checked = null;
      setStatus("checking", text.checking);
      refresh();
      return send(d, true).then(function (res) {
        if (seq !== state.seq || state.draft !== d) { return res; }  // superseded by a newer draft
        if (res.ok) {
          var n = res.body.new_errors.features.length;
          layers.violations.showPreview(fmt(text.preview_title, {n: n}), res.body.violations, res.body.new_errors);
          state.checked = {seq: seq, newErrors: n};
          setStatus(n ? "bad" : "ok", n ? fmt(text.dry_run_bad, {n: n}) : text.dry_run_ok);
        } else {
          showRefusal(res);
        }
        refresh();
        return res;
      }, function (err) {
        if (seq === state.seq) { setStatus("failed", fmt(text.failed, {message: String(err)})); refresh(); }
        return null;
      });
    }

    function showRefusal(res) {
      var err = (res.body && res.body.error) || {};
      if (err.features) {
        layers.violations.showPreview(fmt(text.refused_title, {n: err.features.features.length}),
                                      {type: "FeatureCollection", features: []}, err.features);
      }
      setStatus(err.features ? "refused" : "failed", fmt(text.failed, {message: errorMessage(res)}));
    }

    function describe(d, body) {
      var changed = (body && body.changed) || [d.code];
      return changed.join("、");
    }

    function save() {
      var d = state.draft;
      if (!d || state.busy || !state.checked || state.checked.seq !== state.seq) { return Promise.resolve(null); }
      if (d.operation === "create") {
        d.name = ui.name.value.trim();
        if (!d.name) { setStatus("failed", text.need_name); return Promise.resolve(null); }
      }
      state.busy = true;
      setStatus("saving", text.saving);
      refresh();
      return send(d, false).then(function (res) {
        state.busy = false;
        if (res.ok) {
          var message = fmt(text.saved, {what: describe(d, res.body)});
          setStatus("saved", message);
          try { window.sessionStorage.setItem(FLASH_KEY, message); } catch (e) { /* private mode */ }
          window.location.reload();
        } else {
          state.checked = null;
          showRefusal(res);
          refresh();
        }
        return res;
      }, function (err) {
        state.busy = false;
        setStatus("failed", fmt(text.failed, {message: String(err)}));
        refresh();
        return null;
      });
    }

    /* Reshape the selected grid: its stored outline (full precision, from the features API),
       else the one drawn on the page. */
    function startReshape() {
      var code = state.selected;
      if (!code) { setStatus("failed", text.need_selection); refresh(); return Promise.resolve(null); }
      clearDraft();
      map.closePopup();
      var url = cfg.api + "/collections/grids/items?jurisdiction=" + encodeURIComponent(cfg.jurisdiction) +
                "&code=" + encodeURIComponent(code);
      var drawn = gridLayer(code);
      return fetch(url, {headers: headers(), credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; })
        .then(function (fc) {
          var f = fc && fc.features && fc.features[0];
          var geometry = (f && f.geometry) || (drawn && drawn.feature.geometry);
          if (!geometry || !singlePolygonLatLngs(geometry)) { setStatus("failed", text.multipart); refresh(); return null; }
          state.draft = {operation: "reshape", code: code, geometry: geometry};
          state.mode = "reshape";
          editable(geometry);
          setStatus("editing", text.editing);
          refresh();
          return state.draft;
        });
    }

    try {
      var flash = window.sessionStorage.getItem(FLASH_KEY);
      if (flash) { window.sessionStorage.removeItem(FLASH_KEY); }
      setStatus(flash ? "saved" : "idle", flash || "");
    } catch (e) { setStatus("idle", ""); }
    refresh();

    var api = {select: select, startCreate: function () { startDraw("create"); }, startReshape: startReshape,
               startSplit: function () { startDraw("split"); }, propose: propose, check: check, save: save,
               cancel: cancel, draftLayer: draftLayer,
               state: function () {
                 return {selected: state.selected, mode: state.mode, busy: state.busy,
                         draft: state.draft, checked: state.checked, status: ui.status.getAttribute("data-state")};
               }};
    window.wanggeGridEditor = api;
    return api;
  }

  window.WanggeGrids = {violations: violations, editor: editor};
})();
