"""Runs localstripe (the fake Stripe server) for the test suite, honouring idempotency keys.

localstripe 1.15.10 ignores the `Idempotency-Key` header, whereas Stripe replays the first
answer to a POST made again with the same key (for 24 hours). Our gateway relies on that
documented guarantee to never charge twice, so the fake gets a small middleware doing the
same: the first response to (API key, path, idempotency key) is stored and returned again.
The store is kept in memory only (localstripe otherwise pickles it to a shared /tmp file
after every write).

Usage: python localstripe_server.py --port PORT
"""

import sys

from aiohttp import web
from localstripe import resources, server


@web.middleware
async def idempotency(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    cache_key = (request.headers.get("Authorization", ""), request.path, key)
    cached = _answers.get(cache_key)
    if cached is not None:
        status, body = cached
        return web.Response(status=status, body=body, content_type="application/json")
    response = await handler(request)
    _answers[cache_key] = (response.status, response.body)
    return response


_answers: dict = {}


def main() -> None:
    resources.Store.dump_to_disk = lambda self: None
    server.app.middlewares.insert(0, idempotency)
    sys.argv = [sys.argv[0], *sys.argv[1:], "--from-scratch"]
    server.start()


if __name__ == "__main__":
    main()
