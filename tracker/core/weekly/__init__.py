"""The weekly review (DESIGN §7): `model` (the week as data), `text` (its Markdown, JSON and
CSV), `frozen` (a presented week kept as it was) and `restate` (what changed since)."""
