"""What every `gridline` command shares: its problems (a line each, exit code 2), the settings,
the category catalog, and one transaction on an up-to-date store."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from storage.catalog import Catalog, CatalogError, load_catalog
from storage.db import Store, upgrade_schema

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], None]
# `commands.add_parser(...)`: where each command group adds its commands (generic only in typeshed).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Problem(Exception):
    """Bad input: each line is printed and the command exits non-zero."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class PlaygroundInstead(Exception):
    """`gridline run` has no token: the command line starts the playground (`gridline play`) instead."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise Problem(*(f"setting GRIDLINE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())) from None


def with_settings(command: Callable[[Settings, argparse.Namespace], None]) -> Handler:
    """Adapt a `command(settings, args)` to the parser's `handler(args)`."""

    def handler(args: argparse.Namespace) -> None:
        command(load_settings(), args)

    return handler


def catalog_of(settings: Settings) -> Catalog:
    try:
        return load_catalog(settings.categories)
    except CatalogError as error:
        raise Problem(*(f"categories {settings.categories}: {p}" for p in error.problems)) from None


def in_store(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Bring the store up to date, then run `work(session)` in one transaction (committed when it returns)."""
    upgrade_schema(settings.database_url)

    async def run() -> T:
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                return await work(session)
        finally:
            await store.close()

    return asyncio.run(run())
