"""The browser the web pages' tests use is there and renders a page served over loopback."""

from __future__ import annotations

from aiohttp import web


async def test_a_page_served_over_loopback_renders_and_runs_its_script(browser_page, unused_tcp_port):
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html lang=zh><body><p id=t>网格</p><script>document.getElementById('t')"
                                 ".textContent += ' ok'</script></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    try:
        await browser_page.goto(f"http://127.0.0.1:{unused_tcp_port}/")
        assert await browser_page.text_content("#t") == "网格 ok"
    finally:
        await runner.cleanup()
