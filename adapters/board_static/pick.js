/* The citizens' map picker (a Telegram Mini App): tap a point, send it; the bot gets it as
   web_app_data and checks it like any shared location. It shows no case data. */
(function () {
  "use strict";
  var TG = window.GridlineTelegram, query = new URLSearchParams(location.search);
  var language = query.get("lang") || TG.language || "", chosen = null, marker = null;  // none: the bot's default
  fetch("/board/api/picker?lang=" + encodeURIComponent(language)).then(function (r) { return r.json(); }).then(function (setup) {
    document.querySelectorAll("[data-t]").forEach(function (el) {
      el.textContent = setup.texts[el.getAttribute("data-t")] || el.textContent;
    });
    var coords = window.GridlineCoords(setup.coordinates);
    var map = L.map("map", {maxZoom: 19});
    if (setup.tiles) L.tileLayer(setup.tiles, {maxZoom: 19}).addTo(map);
    var box = setup.bbox;
    if (box) {
      var sw = coords.show(box[0], box[1]), ne = coords.show(box[2], box[3]);
      map.fitBounds([sw, ne]);
    } else {
      map.setView([30, 115], 5);
    }
    map.on("click", function (e) {
      chosen = coords.store(e.latlng.lat, e.latlng.lng);
      if (marker) marker.setLatLng(e.latlng); else marker = L.marker(e.latlng).addTo(map);
      document.getElementById("send").disabled = false;
    });
    document.getElementById("send").addEventListener("click", function () {
      if (!chosen) return;
      TG.sendData(JSON.stringify({lat: Math.round(chosen[0] * 1e6) / 1e6, lon: Math.round(chosen[1] * 1e6) / 1e6}));
      TG.close();
    });
    window.gridlinePicker = {map: map, ready: true};
    TG.ready();
  });
})();
