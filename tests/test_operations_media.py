"""Photos in S3-compatible object storage, against a real S3 API on loopback (moto's server mode,
started here): a citizen's photo lands in the bucket, /media links and Open311 media_urls serve it
as before, and `gridline media move` copies a data folder's photos across, checking each, without
losing one that arrives meanwhile."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from moto.server import ThreadedMotoServer

from bot.media_move import MoveReport, move_photos
from storage import photos
from storage.media_store import FolderStore, S3Access, S3Location, S3Store
from tests.harness import jpeg
from tests.stories import open311_client, submit_manhole
from tests.test_cli import gridline

KEYS = {"GRIDLINE_S3_ACCESS_KEY_ID": "gridline-test", "GRIDLINE_S3_SECRET_ACCESS_KEY": "gridline-test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
async def bucket(s3_endpoint):
    """A new bucket on the loopback S3 server, and how to reach it."""
    access = S3Access(s3_endpoint, "us-east-1", KEYS["GRIDLINE_S3_ACCESS_KEY_ID"], KEYS["GRIDLINE_S3_SECRET_ACCESS_KEY"])
    name = f"gridline-{uuid.uuid4().hex[:12]}"
    store = S3Store(S3Location(name, ""), access)
    client = await store._s3()
    await client.create_bucket(Bucket=name)
    await store.close()
    return name, access


def env_for(world, s3_endpoint: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**world.command_env(), **KEYS, "GRIDLINE_S3_ENDPOINT_URL": s3_endpoint}


async def fetch(http, url: str) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    async with http.get(urlparse(url).path) as response:
        return response.status, await response.read()


async def case_photo_paths(world) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await photos.photos_after(session, 0, 1000)


async def test_a_citizens_photo_lives_in_the_bucket_and_is_served_as_before(world, bucket):
    name, access = bucket
    s3 = S3Store(S3Location(name, "city/photos"), access, fallback=FolderStore(world.settings.data_dir))
    world.runtime.media_store = s3
    try:
        case = await submit_manhole(world.person("Zhou", language_code="en"))
        [(photo_id, path, sha256)] = await case_photo_paths(world)
        assert await s3.verified(path, sha256)
        assert not (world.settings.data_dir / path).exists()  # nothing on this machine's disk
        client = await s3._s3()
        listed = await client.list_objects_v2(Bucket=name)
        assert [entry["Key"] for entry in listed["Contents"]] == [f"city/photos/{path}"]
        async with open311_client(world) as (http, key):
            async with http.get(f"/open311/v2/requests/{case.number}.json", params={"api_key": key}) as response:
                [request] = await response.json()
            status, body = await fetch(http, request["media_url"])
        assert status == 200 and body[:2] == b"\xff\xd8"  # a JPEG, re-encoded without metadata
    finally:
        await s3.close()


async def test_media_move_copies_checks_and_keeps_photos_arriving_meanwhile(world, bucket, s3_endpoint):
    name, access = bucket
    for person in ("Zhou", "Qian"):
        await submit_manhole(world.person(person, language_code="en"), lat=29.8751 if person == "Zhou" else 29.8505,
                             lon=121.5512 if person == "Zhou" else 121.5005)
    kept = await case_photo_paths(world)
    assert len(kept) == 2 and all((world.settings.data_dir / path).exists() for _, path, _ in kept)

    moved = gridline("media", "move", "--to", f"s3://{name}/photos-store", env=env_for(world, s3_endpoint))
    assert moved.returncode == 0, moved.stderr
    assert "2 photo(s) copied" in moved.stdout and "GRIDLINE_MEDIA_STORE=s3://" in moved.stdout

    # One more photo arrives before the processes are switched over: it stays in the data folder...
    late = jpeg()
    facts = await photos.check_image(late)
    await FolderStore(world.settings.data_dir).write(photos.photo_path(facts).as_posix(), late)
    async with world.store.transaction() as session:
        late_photo = await photos.record_photo(session, facts, len(late), world.clock.now(), None)
    s3 = S3Store(S3Location(name, "photos-store"), access, fallback=FolderStore(world.settings.data_dir))
    world.runtime.media_store = s3
    try:
        # ...and is served all the same after the switch, from there, until the move is run again.
        assert await s3.read(late_photo.path) == late and not await s3.exists(late_photo.path)
        again = gridline("media", "move", "--to", f"s3://{name}/photos-store", env=env_for(world, s3_endpoint))
        assert again.returncode == 0, again.stderr
        assert "1 photo(s) copied" in again.stdout and "2 there already" in again.stdout
        for _, path, _ in [*kept, (late_photo.id, late_photo.path, late_photo.sha256)]:
            (world.settings.data_dir / path).unlink()
        for _, path, sha256 in [*kept, (late_photo.id, late_photo.path, late_photo.sha256)]:
            assert hashlib.sha256(await s3.read(path)).hexdigest() == sha256
    finally:
        await s3.close()


async def test_a_photo_recorded_during_a_pass_is_taken_by_the_next(world, bucket):
    name, access = bucket
    await submit_manhole(world.person("Zhou", language_code="en"))
    target = S3Store(S3Location(name, ""), access)
    folder = FolderStore(world.settings.data_dir)
    arrived: list[str] = []

    async def a_photo_arrives(report: MoveReport) -> None:
        if report.passes == 1:
            content = jpeg()
            facts = await photos.check_image(content)
            await folder.write(photos.photo_path(facts).as_posix(), content)
            async with world.store.transaction() as session:
                arrived.append((await photos.record_photo(session, facts, len(content), datetime.now(UTC), None)).path)

    try:
        report = await move_photos(world.store, folder, target, after_pass=a_photo_arrives)
        assert report.copied == 2 and report.passes == 3 and not report.problems
        assert await target.exists(arrived[0])
    finally:
        await target.close()


async def test_a_missing_or_damaged_file_is_named_and_the_rest_still_move(world, bucket, s3_endpoint):
    name, _ = bucket
    await submit_manhole(world.person("Zhou", language_code="en"))
    await submit_manhole(world.person("Qian", language_code="en"), lat=29.8505, lon=121.5005)
    (_, first, _), (_, second, _) = await case_photo_paths(world)
    (world.settings.data_dir / first).unlink()
    (world.settings.data_dir / second).write_bytes(jpeg())
    moved = gridline("media", "move", "--to", f"s3://{name}", env=env_for(world, s3_endpoint))
    assert moved.returncode == 2
    assert f"{first}: missing" in moved.stderr and f"{second}: damaged" in moved.stderr
    refused = gridline("media", "move", "--to", "/var/photos", env=env_for(world, s3_endpoint))
    assert refused.returncode == 2 and "s3://bucket/prefix" in refused.stderr
