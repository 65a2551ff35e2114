// Progressive enhancement: show the suggested grade while times and impact are typed.
(function () {
  const form = document.getElementById("incident-form");
  const out = document.getElementById("suggestion");
  if (!form || !out || !window.fetch) return;
  let pending;
  async function ask() {
    const body = new FormData(form);
    const response = await fetch(form.dataset.suggest, {
      method: "POST", body, headers: {"X-CSRFToken": body.get("csrf_token")},
    });
    if (!response.ok) return;
    const answer = await response.json();
    out.textContent = answer.grade ? `→ ${answer.grade} (${answer.reason})` : "";
    out.dataset.grade = answer.grade || "";
  }
  form.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(ask, 250); });
  ask();
})();
