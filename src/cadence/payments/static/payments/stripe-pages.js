// The buyer's card and authentication pages: the glue between the page and Stripe.js, in a
// static file so that the Content-Security-Policy forbids inline scripts. The values a page
// needs (keys, secrets, messages) come from data- attributes.

// A consent checkbox sends its form when it changes; without JavaScript a button does.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (box.matches && box.matches("[data-submit-on-change]") && box.form) box.form.submit();
});

// Adding a card: a SetupIntent from the server, confirmed by Stripe.js with the card Element,
// then the form is sent with the ids Stripe gave.
(function () {
  var form = document.getElementById("card-form");
  if (!form) return;
  var errors = document.getElementById("card-errors");
  if (typeof Stripe === "undefined") {
    errors.textContent = form.dataset.loadError;
    return;
  }
  var stripe = Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  form.addEventListener("submit", async function (event) {
    if (document.getElementById("payment-method-id").value) { return; }
    event.preventDefault();
    errors.textContent = "";
    var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
    var response = await fetch(form.dataset.setupUrl, {method: "POST", headers: {"X-CSRFToken": csrf}});
    var setup = await response.json();
    if (!response.ok) { errors.textContent = setup.error; return; }
    var result = await stripe.confirmCardSetup(setup.client_secret, {payment_method: {card: card}});
    if (result.error) { errors.textContent = result.error.message || form.dataset.declined; return; }
    document.getElementById("payment-method-id").value = result.setupIntent.payment_method;
    document.getElementById("setup-intent-id").value = setup.setup_intent_id;
    form.submit();
  });
})();

// Authorising a payment: Stripe.js runs the bank's check, then the form is sent and the
// server asks Stripe for the outcome either way.
(function () {
  var form = document.getElementById("authenticate-form");
  if (!form) return;
  if (typeof Stripe === "undefined") {
    document.getElementById("authenticate-errors").textContent = form.dataset.loadError;
    return;
  }
  var stripe = Stripe(form.dataset.stripeKey);
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var data = {};
    if (form.dataset.paymentMethod) { data.payment_method = form.dataset.paymentMethod; }
    var result = await stripe.confirmCardPayment(form.dataset.clientSecret, data);
    if (result.error) {
      document.getElementById("authenticate-errors").textContent = result.error.message || "";
    }
    form.submit();
  });
})();
