"""A picture's file is written once under the data dir, whoever sends it and however many at once."""

from __future__ import annotations

import threading

from storage.photos import inspect_image, photo_path, write_photo_file
from tests.harness import jpeg


def test_the_same_picture_written_by_several_threads_at_once(tmp_path):
    content = jpeg(size=(640, 480))
    facts = inspect_image(content)
    failures: list[BaseException] = []
    for round_ in range(20):
        folder = tmp_path / str(round_)
        start = threading.Barrier(8)

        def write(folder=folder, start=start) -> None:
            start.wait()
            try:
                write_photo_file(folder, content, facts)
            except BaseException as error:  # noqa: BLE001 - collected for the assertion below
                failures.append(error)

        threads = [threading.Thread(target=write) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (folder / photo_path(facts)).read_bytes() == content
        assert not list((folder / photo_path(facts)).parent.glob("*.tmp"))
    assert failures == []
