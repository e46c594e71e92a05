// The home-visit form (templates/guidance/visit_form.html). Photos take a while on a village's mobile
// network: one tap, one record.
document.getElementById("visit-form").addEventListener("submit", function () {
  var button = document.getElementById("visit-submit");
  button.disabled = true;
  button.textContent = "正在保存…";
});
