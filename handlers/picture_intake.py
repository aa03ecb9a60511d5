"""Pictures people send, as a photo or as a file: fetched, checked and kept before anything uses them.

A picture is downloaded and fully decoded (`storage.photos.check_image`, off the event loop)
before the update's transaction opens, so a slow picture holds no lock. Only a picture that
decoded is written and recorded; then it goes where every photo goes (`answers.answer_photo`):
the open question that takes one (a worker's after-photos), else the citizen's report. A picture
that is not taken gets one sentence on why, and what the open report still waits for.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import BadRequest

from handlers import answers
from handlers.citizen_report import refused
from handlers.i18n import Translate
from handlers.questions import PhotoIn
from handlers.turn import GridContext, Replies, Turn, reply
from storage import photos
from storage.photos import ImageFacts, NotAnImage
from storage.vocab import N_

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the cloud Bot API will not hand the bot a bigger file
NOT_A_PICTURE = N_("This file is not a picture. Please send a photo.")
TOO_BIG_TO_RECEIVE = N_("This file is larger than 20 MB, more than the bot can receive. Please send it as a photo instead.")


async def on_photo(update: Update, context: GridContext) -> None:
    message = update.effective_message
    assert message is not None and message.photo
    await _take_picture(update, context, message, message.photo[-1].file_id, from_file=False)


async def on_document(update: Update, context: GridContext) -> None:
    """A photo sent as a file keeps its EXIF position, which the report offers as the location."""
    message = update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    if not (document.mime_type or "").startswith("image/"):
        await reply(update, context, lambda turn: refused(turn, turn._(NOT_A_PICTURE)))
    elif document.file_size is not None and document.file_size > MAX_DOWNLOAD_BYTES:
        # Refused before downloading: the cloud Bot API would not hand the bot the file anyway.
        await reply(update, context, lambda turn: refused(turn, turn._(TOO_BIG_TO_RECEIVE)))
    else:
        await _take_picture(update, context, message, document.file_id, from_file=True)


def _why_not_taken(_: Translate, error: NotAnImage | BadRequest) -> str:
    """One sentence (in the person's language) on why a picture was not taken, and what to do."""
    if isinstance(error, NotAnImage) and error.reason == NotAnImage.UNSUPPORTED:
        return _("I can take pictures in {formats}, not {format}. Please send it as a photo instead of a file.").format(
            formats=photos.ACCEPTED_NAMES, format=error.format)
    if isinstance(error, NotAnImage) and error.reason == NotAnImage.TOO_LARGE:
        # The cap (photos.MAX_PIXELS) means nothing to a resident; what to do instead does.
        return _("This picture is too big. Please send it as a photo instead of a file.")
    return _("I could not open this picture: it may be damaged or incomplete. Please send it again as a photo.")


async def _take_picture(update: Update, context: GridContext, message: Message, file_id: str, from_file: bool) -> None:
    """A citizen's photo for the report, or a worker's after-photo: kept only once it decoded fully."""
    try:
        file = await context.bot.get_file(file_id)
        content = bytes(await file.download_as_bytearray())
        facts = await photos.check_image(content)
    except (NotAnImage, BadRequest) as error:
        log.info("update %s: picture refused: %s", update.update_id, error)
        await _refuse(update, context, error)
        return
    await context.rt.media.write(photos.photo_path(facts).as_posix(), content)
    await reply(update, context, lambda turn: _kept(turn, message, facts, len(content), file_id, from_file))


async def _refuse(update: Update, context: GridContext, error: NotAnImage | BadRequest) -> None:
    await reply(update, context, lambda turn: refused(turn, _why_not_taken(turn._, error)))


async def _kept(turn: Turn, message: Message, facts: ImageFacts, size: int, file_id: str, from_file: bool) -> Replies:
    """The picture's row (a photo's Telegram file id kept to send it again), handed on as a photo."""
    photo = await photos.record_photo(turn.session, facts, size, turn.now, None if from_file else file_id)
    sent = PhotoIn(photo, message.caption, message.media_group_id, facts.gps if from_file else None)
    return await answers.answer_photo(turn, sent)
