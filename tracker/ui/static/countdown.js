// The regulator's deadline on an incident page counts down while it is unreported.
(() => {
  const box = document.getElementById("regulatory-deadline");
  if (!box) return;
  const deadline = Date.parse(box.dataset.deadline);
  const shown = box.querySelector(".countdown");
  const tick = () => {
    const left = Math.floor((deadline - Date.now()) / 60000);
    const template = left >= 0 ? shown.dataset.left : shown.dataset.late;
    shown.textContent = template.replace("{minutes}", String(Math.abs(left)));
    box.classList.toggle("late", left < 0);
    box.classList.toggle("soon", left >= 0);
  };
  tick();
  setInterval(tick, 15000);
})();
