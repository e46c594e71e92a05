// The talk form (templates/guidance/talk_form.html). Under the date: the school week it falls in
// (第12周(11.16-11.22)), updated as the date changes; one tap on 保存 saves once.
(function () {
  var labels = JSON.parse(document.getElementById("week-labels").textContent);
  var input = document.getElementById("id_date");
  var hint = document.getElementById("id_date_helptext");
  if (!input || !hint) return;
  input.addEventListener("change", function () {
    var day = new Date(input.value + "T00:00:00");
    if (isNaN(day)) return;
    day.setDate(day.getDate() - ((day.getDay() + 6) % 7));
    var monday = day.getFullYear() + "-" + String(day.getMonth() + 1).padStart(2, "0") + "-" + String(day.getDate()).padStart(2, "0");
    hint.textContent = labels[monday] || "这一天不在本学期的教学周内,请选择教学周内的日期。";
  });
  document.getElementById("talk-form").addEventListener("submit", function () {
    var button = document.getElementById("talk-submit");
    button.disabled = true;
    button.textContent = "正在保存…";
  });
})();
