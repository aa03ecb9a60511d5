"""The case store: models, migrations and the services that change state. Knows nothing of Telegram."""
