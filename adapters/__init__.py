"""The HTTP adapters: the Open311 GeoReport v2 server and client, and signed media links.

They sit beside `handlers/` (the Telegram side), above `storage/` and below `bot/`, and import
neither `handlers/` nor `bot/`.
"""
