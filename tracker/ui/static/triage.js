// "Use as mitigation time": copy the time every alert resolved at into the draft's field.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-fill]");
  if (!button) return;
  const field = document.getElementById(button.dataset.fill);
  if (field) field.value = button.dataset.value;
});
