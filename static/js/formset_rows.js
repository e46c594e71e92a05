// "Add a row" for a Django formset, without inline script (the pages run under a strict CSP).
//
// <button data-formset-add="P" hidden> clones <template data-formset-empty="P"> (the formset's
// empty_form) into [data-formset-rows="P"], numbering its inputs as Django expects (__prefix__ becomes
// the next index) and counting the row in P-TOTAL_FORMS. Rows left blank are not saved. Without
// JavaScript the button stays hidden and the page offers one blank row per save, as it says in its
// [data-formset-without-js="P"] note; with it, the [data-formset-with-js="P"] note shows instead.
(function () {
  "use strict";

  function toggle(selector, hidden) {
    document.querySelectorAll(selector).forEach(function (element) {
      element.hidden = hidden;
    });
  }

  document.querySelectorAll("[data-formset-add]").forEach(function (button) {
    var prefix = button.getAttribute("data-formset-add");
    var rows = document.querySelector('[data-formset-rows="' + prefix + '"]');
    var template = document.querySelector('template[data-formset-empty="' + prefix + '"]');
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    if (!rows || !template || !total) {
      return;
    }
    button.hidden = false;
    toggle('[data-formset-without-js="' + prefix + '"]', true);
    toggle('[data-formset-with-js="' + prefix + '"]', false);

    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) {
        return;
      }
      rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
      total.value = String(index + 1);
      var row = rows.lastElementChild;
      var number = row.querySelector("[data-formset-number]");
      if (number) {
        number.textContent = String(index + 1);
      }
      var first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) {
        first.focus();
      }
    });
  });
})();
