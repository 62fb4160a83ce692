"""The HTML form's file upload, read as it streams in: a ``multipart/form-data`` body parsed part by
part (python-multipart's push parser), the small fields before the file read as text, the file's bytes
handed on as an async stream to the evidence service. Nothing of the file is held whole or written
anywhere in clear: Starlette's ``request.form()`` would spool it, unencrypted, to a temporary file past
1 MB.

A browser sends the parts in the order of the form's fields, so the receipt code and the form token,
placed before the file input, arrive first: the code is checked before a byte of the file is read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from comitas_shared.errors import Problem


class MalformedForm(Problem):
    status, slug, title = 400, "malformed-form", "The form could not be read"


class FieldTooLong(Problem):
    status, slug, title = 413, "request-too-large", "Too long"


@dataclass(frozen=True)
class Part:
    """One part's name; ``filename`` is None for a plain field and ``""`` for a file input left empty."""

    name: str
    filename: str | None
    content_type: str | None


class FormStream:
    """The parts of a ``multipart/form-data`` body in order. ``next_part`` skips what is left of the
    current part; ``text`` reads a field; ``data`` streams a file's bytes; ``drain`` reads the rest."""

    def __init__(self, content_type: str, stream: AsyncIterable[bytes], *, max_parts: int = 8) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise MalformedForm("the form must be sent as multipart/form-data (it carries a file)")
        self._source = aiter(stream)
        self._events: deque[tuple[str, object]] = deque()
        self._headers: dict[bytes, bytes] = {}
        self._field, self._value = b"", b""
        self._finished = False
        self._parts = 0
        self._max_parts = max_parts
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data,
            "on_part_end": lambda: self._events.append(("end", None)),
        }, max_header_count=4)

    # The parser's callbacks: each turns into an event, read in order by the methods below.

    def _begin(self) -> None:
        self._headers = {}
        self._parts += 1
        if self._parts > self._max_parts:
            raise MalformedForm(f"the form has more than {self._max_parts} parts")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise MalformedForm("a part of the form has no name")
        filename = options.get(b"filename")
        content_type = self._headers.get(b"content-type")
        self._events.append(("part", Part(
            name=options[b"name"].decode("utf-8", "replace"),
            filename=None if filename is None else filename.decode("utf-8", "replace"),
            content_type=content_type.decode("latin-1").strip() if content_type else None)))

    def _data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(("data", data[start:end]))

    async def _next(self) -> tuple[str, object]:
        while not self._events:
            if self._finished:
                return ("done", None)
            chunk = await anext(self._source, None)
            try:
                if chunk is None:
                    self._finished = True
                    self._parser.finalize()
                elif chunk:
                    self._parser.write(chunk)
            except FormParserError as error:
                raise MalformedForm("the form could not be read") from error
        return self._events.popleft()

    async def next_part(self) -> Part | None:
        """The next part's header, skipping the rest of the current part; None at the end."""
        while True:
            kind, value = await self._next()
            if kind == "part":
                assert isinstance(value, Part)
                return value
            if kind == "done":
                return None

    async def text(self, *, limit: int) -> str:
        """The current part's value as text, up to ``limit`` bytes (413 beyond)."""
        value = bytearray()
        while True:
            kind, chunk = await self._next()
            if kind != "data":
                return value.decode("utf-8", "replace")
            assert isinstance(chunk, bytes)
            value += chunk
            if len(value) > limit:
                raise FieldTooLong(f"a field of the form is longer than {limit} bytes")

    async def data(self) -> AsyncIterator[bytes]:
        """The current part's bytes as they arrive (a file's content)."""
        while True:
            kind, chunk = await self._next()
            if kind != "data":
                return
            assert isinstance(chunk, bytes)
            yield chunk

    async def drain(self) -> None:
        """Reads the rest of the body, so that the browser, still sending, gets the answer."""
        while (await self._next())[0] != "done":
            pass
