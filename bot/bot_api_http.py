"""How the bot carries its requests to the Bot API: python-telegram-bot's requests, over aiohttp.

python-telegram-bot sends through httpx by default. In bench/intake.py a request cost the bot
about 5 ms of CPU that way, most of it in the layers under httpx (httpcore's pool asks every idle
connection, before each request and after each response, whether the server has closed it; anyio
wraps every read and write), and a report takes a dozen requests. aiohttp, which Gridline already
uses for its HTTP face and the city platform, keeps its connections per host, hears of a closed one
when it closes, and parses answers in C: under 1 ms a request on the same bench.

Only the carrying changes. python-telegram-bot still builds every request and reads every answer
(its errors for 400, 403, 429 ...); failing to get an answer in time is `TimedOut` and any other
failure to talk is `NetworkError`, as with httpx (the message names aiohttp's error, never the
URL, which holds the token). The timeouts mean what python-telegram-bot's do: connect (making a
connection), pool (waiting for one of the `pool_size` connections to be free) and read (waiting
for the answer). One difference: aiohttp bounds no single write, so `write_timeout` (and
`media_write_timeout` for uploads) is not enforced; a request body the Bot API stops reading is
ended by the operating system's TCP timeouts instead.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from storage.meters import Meters

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# python-telegram-bot's defaults for HTTPXRequest.
CONNECT_SECONDS = 5.0
READ_SECONDS = 5.0
POOL_SECONDS = 1.0


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session with at most `pool_size` connections at once."""

    def __init__(self, pool_size: int, *, connect_timeout: float | None = CONNECT_SECONDS,
                 read_timeout: float | None = READ_SECONDS, pool_timeout: float | None = POOL_SECONDS,
                 meters: Meters | None = None) -> None:
        self.pool_size = pool_size
        self._meters = meters
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=0),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        body: Any = None
        headers = None
        if request_data is not None and request_data.multipart_data:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        elif request_data is not None:
            # A form, as httpx sends it (and as aiohttp would encode it, at a third of the cost).
            body = urlencode(request_data.json_parameters).encode()
            headers = _FORM
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's `connect` is the wait for a free connection and the making of one.
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=_seconds(read_timeout, self._read_timeout),
        )
        started, status = time.perf_counter(), None
        try:
            async with session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
                status = response.status
                return status, await response.read()
        except TimeoutError as error:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # Some of aiohttp's messages quote the URL, which holds the token.
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {str(error).replace(url, '<Bot API URL>')}") from error
        finally:
            if self._meters is not None:
                self._meters.bot_api_called(api_method(url), time.perf_counter() - started, status)


def api_method(url: str) -> str:
    """The Bot API method a URL calls (`sendMessage`), for a metric's label: never the token; a
    file download is `file`, anything unexpected `other`."""
    if "/file/bot" in url:
        return "file"
    name = url.rsplit("/", 1)[-1]
    return name if name.isalpha() and len(name) <= 40 else "other"


def bot_api_request(pool_size: int, meters: Meters | None = None) -> AiohttpRequest:
    """The request the Application's bot sends with: at most `pool_size` connections at once;
    each call's time (and each 429) observed on `meters` when given."""
    return AiohttpRequest(pool_size, meters=meters)
