"""The Gridline application: settings, the Telegram Application, CLI, scheduler and outbound queue."""
