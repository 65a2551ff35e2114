// Progressive enhancement of the incident form: the suggested grade while times and impact
// are typed, and rows for more responsible parties. Without JavaScript the form still saves
// (one new party a save).
(function () {
  const form = document.getElementById("incident-form");
  if (!form) return;
  const out = document.getElementById("suggestion");
  let pending;
  async function ask() {
    const body = new FormData(form);
    const response = await fetch(form.dataset.suggest, {
      method: "POST", body, headers: {"X-CSRFToken": body.get("csrf_token")},
    });
    if (!response.ok) return;
    const answer = await response.json();
    out.textContent = answer.grade ? answer.shown : "";
    out.dataset.grade = answer.grade || "";
  }
  if (out && window.fetch) {
    form.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(ask, 250); });
    ask();
  }
  const add = document.getElementById("add-party");
  const template = document.getElementById("party-row");
  if (add && template) {
    add.addEventListener("click", () => {
      const body = form.querySelector("table.parties tbody");
      const next = body.querySelectorAll("tr.party").length;
      body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__n__", String(next)));
      body.lastElementChild.querySelector("input").focus();
    });
  }
})();
