// Follows a running plan: polls the page's progress endpoint and reloads into the review when it ends.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section) return;
  var url = "/plans/" + encodeURIComponent(section.dataset.plan) + "/progress";
  function pct(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + "%"; }
  function set(name, text) {
    var el = section.querySelector('[data-field="' + name + '"]');
    if (el) el.textContent = text;
  }
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { setTimeout(tick, 2000); return; }
        if (job.status !== "queued" && job.status !== "running") { window.location.reload(); return; }
        var p = job.progress || {};
        set("elapsed_seconds", (p.elapsed_seconds || job.elapsed_seconds || 0).toFixed(1));
        set("phase", p.phase || job.status);
        set("pools", (p.pools_done === undefined ? "–" : p.pools_done) + " / " + (p.pools_total === undefined ? "–" : p.pools_total));
        set("max_utilization", pct(p.max_utilization));
        set("max_utilization_bound", pct(p.max_utilization_bound));
        set("moves", p.moves === undefined ? "–" : p.moves);
        set("unassigned", p.unassigned === undefined ? "–" : p.unassigned);
        setTimeout(tick, 700);
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 300);
})();
