// The portal's script: live progress of running syncs, polling the
// progress endpoint every second while a sync runs (every five seconds
// otherwise). Pages work without it, with a reload.
(function () {
  "use strict";
  function fmtBytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + " GiB";
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
    return n + " B";
  }
  function update(rows) {
    var running = false;
    rows.forEach(function (p) {
      var el = document.querySelector('[data-progress="' + CSS.escape(p.pair) + '"]');
      if (!el) return;
      var pct = p.total > 0 ? Math.min(100, Math.round(100 * p.files / p.total)) : (p.state === "done" ? 100 : 0);
      if (p.state === "done") pct = 100;
      el.querySelector(".progress > span").style.width = pct + "%";
      var bar = el.querySelector(".progress");
      bar.classList.toggle("done", p.state === "done");
      bar.classList.toggle("indeterminate", p.state === "running" && !(p.total > 0));
      el.querySelector("[data-files]").textContent = p.files + (p.total > 0 ? " / " + p.total : "") + " files";
      el.querySelector("[data-bytes]").textContent = fmtBytes(p.bytes);
      var st = el.querySelector("[data-state]");
      st.textContent = p.label;
      st.className = "badge " + (p.state === "done" ? "ok" : p.state === "failed" ? "bad" : "running");
      el.dataset.state = p.state;
      if (p.state === "running" || p.state === "waiting") running = true;
    });
    return running;
  }
  function poll(url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (rows) { if (update(rows)) setTimeout(function () { poll(url); }, 1000); else setTimeout(function () { poll(url); }, 5000); })
      .catch(function () { setTimeout(function () { poll(url); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-progress-url]");
    if (box) poll(box.getAttribute("data-progress-url"));
  });
})();
