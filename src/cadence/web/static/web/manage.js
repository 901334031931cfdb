// The back office's few scripts, in one static file (no inline script, so a
// Content-Security-Policy can forbid those). Each enhances a form that works without it.

// Ticking a cycle moves it to "In this schedule", unticking moves it back to "Available",
// each list in date order. Without JavaScript the checkboxes alone do the job.
(function () {
  var picker = document.getElementById("cycle-picker");
  if (!picker) return;
  var lists = { true: document.getElementById("cycles-chosen"), false: document.getElementById("cycles-available") };
  picker.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name !== "order_cycle_ids") return;
    var item = box.closest("li"), list = lists[box.checked];
    var next = Array.prototype.find.call(list.children, function (other) {
      return other.dataset.opens > item.dataset.opens;
    });
    list.insertBefore(item, next || null);
    picker.querySelectorAll(".picker-list").forEach(function (side) {
      var none = side.querySelector(".picker-none");
      if (none) none.hidden = side.querySelector("li") !== null;
    });
    box.focus();
  });
})();

// The product picker: a ticked search result joins the ticked products, so a new search
// does not lose it; Enter in the search box searches instead of sending the form.
(function () {
  var picker = document.getElementById("variant-picker");
  if (!picker) return;
  var chosen = document.getElementById("variant-selected");
  var search = picker.querySelector("input[type=search]");
  picker.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name !== "variant_ids" || !box.checked || chosen.contains(box)) return;
    chosen.querySelectorAll("input[name=variant_ids]").forEach(function (other) {
      if (other.value === box.value) other.closest("li").remove();
    });
    chosen.appendChild(box.closest("li"));
    var none = document.getElementById("variant-none");
    if (none) none.hidden = true;
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && window.htmx) {
      event.preventDefault();
      window.htmx.trigger(search, "find");
    }
  });
})();

// The subscription form: its step buttons (find or add a customer, add or remove a product)
// and a change of customer, schedule, method or quantity post the form and swap it in place,
// so addresses, warnings and estimates follow; Enter in a search box searches. Without
// JavaScript the buttons post the whole page.
(function () {
  if (!document.getElementById("subscription-form")) return;
  // htmx copies `style` attributes between the old and the new form while settling, which
  // the Content-Security-Policy forbids (no style attribute is used here anyway).
  if (window.htmx) window.htmx.config.attributesToSettle = ["class", "width", "height"];
  function post(form, values) {
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: form,
      target: "#subscription-form",
      select: "#subscription-form",
      swap: "outerHTML",
      values: values,
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#subscription-form button[data-step]");
    if (!button || !window.htmx) return;
    event.preventDefault();
    var values = {};
    values[button.name] = button.value;
    post(button.form || document.getElementById("subscription-form"), values);
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!window.htmx || !input.matches("#subscription-form [data-refresh]")) return;
    post(input.form, { refresh: "1" });
  });
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key !== "Enter" || !window.htmx || !box.matches("#subscription-form input[type=search]")) return;
    event.preventDefault();
    window.htmx.trigger(box, "find");
  });
})();
