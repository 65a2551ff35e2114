"""Notifications (DESIGN §10), the pure part: an event as a message a person reads
(`messages`), and that message as each chat service's documented payload, cut to its limits
and signed its way (`formats`)."""
