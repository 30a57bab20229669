"""/dev/mail: the demo's mailbox, showing what the local outbox holds. Never mounted in production."""
