// jurist view: keyboard navigation and annotation. Data comes from escaped attributes
// and JSON script blocks; nothing here writes HTML, only text.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="jurist-token"]').content;
  var page = document.getElementById("item-page");
  if (!page) { return; }

  var run = page.dataset.run;
  var itemId = page.dataset.itemId;
  var nameBox = document.getElementById("annotator");
  var status = document.getElementById("save-status");
  var fields = Array.prototype.slice.call(page.querySelectorAll(".field"));
  var saved = JSON.parse(document.getElementById("saved-annotations").textContent);
  var active = 0;

  // The name is kept in a cookie too: cookies outlive a restart on another port,
  // local storage does not.
  function rememberName(name) {
    localStorage.setItem("jurist.annotator", name);
    document.cookie = "jurist_annotator=" + encodeURIComponent(name) +
      "; path=/; max-age=31536000; SameSite=Strict";
  }
  function rememberedName() {
    var match = document.cookie.match(/(?:^|; )jurist_annotator=([^;]*)/);
    return localStorage.getItem("jurist.annotator") || (match ? decodeURIComponent(match[1]) : "");
  }
  nameBox.value = rememberedName();
  nameBox.addEventListener("change", function () {
    rememberName(nameBox.value.trim());
    showSaved();
  });

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  function showSaved() {
    var me = nameBox.value.trim();
    fields.forEach(function (field) {
      var name = field.dataset.field;
      var mine = null;
      var others = [];
      saved.forEach(function (a) {
        if (a.field !== name) { return; }
        if (a.annotator === me) { mine = a.value; } else { others.push(a.annotator + ": " + a.value); }
      });
      field.querySelectorAll(".choice").forEach(function (button) {
        button.classList.toggle("chosen", mine !== null && same(JSON.parse(button.dataset.value), mine));
      });
      field.dataset.done = mine !== null ? "1" : "";
      field.querySelector(".others").textContent = others.length ? "others: " + others.join(", ") : "";
    });
  }

  function activate(k) {
    if (!fields.length) { return; }
    active = Math.max(0, Math.min(k, fields.length - 1));
    fields.forEach(function (f, i) { f.classList.toggle("active", i === active); });
  }

  function choose(field, button) {
    var me = nameBox.value.trim();
    if (!me) {
      status.textContent = "Type your name in the annotator box first.";
      nameBox.focus();
      return;
    }
    rememberName(me);
    var value = JSON.parse(button.dataset.value);
    var body = { run: run, item_id: itemId, annotator: me, field: field.dataset.field, value: value };
    status.textContent = "saving…";
    fetch("/api/annotations", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Jurist-Token": token },
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok || !answer.ok) { throw new Error(answer.error || response.statusText); }
        saved = saved.filter(function (a) { return !(a.annotator === me && a.field === body.field); });
        saved.push({ item_id: itemId, annotator: me, field: body.field, value: value });
        showSaved();
        status.textContent = "saved " + body.field + " = " + value;
        var next = fields.findIndex(function (f) { return !f.dataset.done; });
        if (next >= 0) { activate(next); }
      });
    }).catch(function (error) { status.textContent = "not saved: " + error.message; });
  }

  fields.forEach(function (field, i) {
    field.addEventListener("click", function () { activate(i); });
    field.querySelectorAll(".choice").forEach(function (button) {
      button.addEventListener("click", function () { choose(field, button); });
    });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key.toLowerCase();
    if (key === "j" && page.dataset.next) { window.location.href = page.dataset.next; return; }
    if (key === "k" && page.dataset.prev) { window.location.href = page.dataset.prev; return; }
    if (!fields.length) { return; }
    var field = fields[active];
    var button = field.querySelector('.choice[data-key="' + key.replace(/[^a-z0-9]/g, "") + '"]');
    if (button) { event.preventDefault(); choose(field, button); }
  });

  showSaved();
  var first = fields.findIndex(function (f) { return !f.dataset.done; });
  activate(first >= 0 ? first : 0);
})();
