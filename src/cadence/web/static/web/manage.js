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
  // What is being typed when the new form arrives stays as typed (the new form holds what was
  // sent), and a search typed meanwhile runs again.
  var typing = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    typing = event.target.id === "subscription-form" && active && active.id &&
      event.target.contains(active) && active.matches("input[type=text], input[type=search], input[type=email], input[type=tel]")
      ? { id: active.id, value: active.value } : null;
  });
  var searchAgain = null;
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "subscription-form" || !typing) return;
    var input = document.getElementById(typing.id);
    if (input && input.value !== typing.value) {
      input.value = typing.value;
      if (input.type === "search") searchAgain = input;
    }
    typing = null;
  });
  // (htmx:load comes once htmx has processed the new form, so that its search box searches.)
  document.addEventListener("htmx:load", function (event) {
    if (event.target.id !== "subscription-form" || !searchAgain) return;
    window.htmx.trigger(searchAgain, "find");
    searchAgain = null;
  });
  function post(form, values) {
    return window.htmx.ajax("POST", form.getAttribute("action"), {
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
    if (event.key !== "Enter" || !window.htmx) return;
    if (box.matches("#subscription-form input[type=search]")) {
      event.preventDefault();
      window.htmx.trigger(box, "find");
    } else if (box.matches("#new-customer input")) {
      // Enter in the new customer's inputs adds the customer.
      event.preventDefault();
      document.querySelector("#new-customer button[name=add_customer]").click();
    }
  });
})();
