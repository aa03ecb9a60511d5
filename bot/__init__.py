"""The Gridline application: settings, the Telegram Application, CLI, scheduler and outbound queue."""

import os

# Opt in now to python-telegram-bot's coming behaviour: RetryAfter.retry_after as a timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "1")
