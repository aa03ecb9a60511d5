"""Telegram conversations, one module per audience: parse the update, call a service, render a reply."""
