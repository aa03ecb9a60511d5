/* WGS-84 (what the store keeps) to GCJ-02 (what Chinese tile providers draw in) and back, for
   display only: GRIDLINE_MAP_COORDINATES=gcj02. The usual published approximation; the inverse is
   two rounds of correction (well under a metre). Outside China the two are the same. */
(function () {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outside(lat, lon) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    return r;
  }
  function tLon(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    return r;
  }
  function toGcj(lat, lon) {
    if (outside(lat, lon)) return [lat, lon];
    var dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    var rad = lat / 180 * Math.PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180) / (A / sq * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  }
  function toWgs(lat, lon) {
    var guess = [lat, lon];
    for (var i = 0; i < 2; i++) {
      var back = toGcj(guess[0], guess[1]);
      guess = [guess[0] - (back[0] - lat), guess[1] - (back[1] - lon)];
    }
    return guess;
  }
  window.GridlineCoords = function (system) {
    if (system === "gcj02") return {show: toGcj, store: toWgs};
    return {show: function (lat, lon) { return [lat, lon]; }, store: function (lat, lon) { return [lat, lon]; }};
  };
})();
