"""The untrusted boundary: everything a grading kernel sends is parsed here, once, before anyone uses it.

A kernel runs student code, so every message it sends is student input: it
can be signed correctly and still carry any JSON at all, or a flood of it.
This module stands between the kernel's sockets and nbclient:

- ``GuardedChannel`` replaces jupyter_client's channels for the shell and IOPub
  sockets. It counts the raw bytes and messages received against a
  ``ReceiveBudget`` *before* decoding them, decodes defensively (a message that
  cannot be decoded is dropped, never raised), and hands on only what
  ``clean_message`` returns.
- ``clean_message`` rebuilds each message from scratch with the fields nbclient
  reads, each of the type it expects, within size caps. Comm and widget
  messages, ``update_display_data`` and every message type nbclient does not
  need are dropped: nothing a kernel sends can add state to the grader except
  the outputs of the running cell.
- ``guard_kernel_client`` plugs both into a kernel manager, and bounds what the
  zmq sockets may queue (``MAX_FRAME_BYTES`` per frame, ``QUEUED_MESSAGES`` per
  socket) so the grader's memory per submission stays bounded however fast a
  kernel sends.

When a kernel sends more than its budget, the budget's ``exceeded`` event is
set and ``OutputLimitReached`` is raised to the reader; ``autograder.execute``
stops that kernel and names the row ``output-limit``.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

import zmq
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

MiB = 1024 * 1024
MAX_FRAME_BYTES = 8 * MiB          # one zmq frame; a check record of 100 000 numbers is about 2.5 MiB
QUEUED_MESSAGES = 16               # per socket, received but not yet read by the grader
MAX_RECEIVED_BYTES = 64 * MiB      # per kernel: everything it sent, kept or dropped
MAX_RECEIVED_MESSAGES = 100_000    # per kernel
MAX_TEXT_CHARS = 1 * MiB           # one string field (stream text, one traceback line, one MIME value)
MAX_TRACEBACK_LINES = 200
MAX_JSON_DEPTH = 32
MAX_JSON_ITEMS = 1_000_000         # scalars and containers in one JSON value
MAX_NAME_CHARS = 200               # ename, MIME type, stream name
YIELD_EVERY = 256                  # dropped messages in a row before giving other tasks a turn

IOPUB_TYPES = {"status", "execute_input", "stream", "display_data", "execute_result", "error", "clear_output",
               "iopub_welcome"}   # ipykernel's greeting to each new subscriber: the channel is connected
SHELL_TYPES = {"execute_reply", "kernel_info_reply"}
EXECUTION_STATES = {"busy", "idle", "starting"}
STREAM_NAMES = {"stdout", "stderr"}
REPLY_STATUSES = {"ok", "error", "aborted"}
JSON_MIME = re.compile(r"application/(.*\+)?json")   # nbformat's schema: any JSON; every other type is text
PROTOCOL_VERSION = re.compile(r"\d{1,3}(\.\d{1,3}){0,2}")


class OutputLimitReached(RuntimeError):
    """A kernel sent more bytes or messages than its ``ReceiveBudget`` allows."""


@dataclass
class ReceiveBudget:
    """What one kernel may send the grader, kept or dropped alike."""

    max_bytes: int = MAX_RECEIVED_BYTES
    max_messages: int = MAX_RECEIVED_MESSAGES
    received_bytes: int = 0
    received_messages: int = 0
    dropped_messages: int = 0
    exceeded: asyncio.Event = field(default_factory=asyncio.Event)

    def charge(self, frame_bytes: int) -> None:
        """Count one received message of ``frame_bytes``; raise ``OutputLimitReached`` past the budget."""
        self.received_bytes += frame_bytes
        self.received_messages += 1
        if self.received_bytes > self.max_bytes or self.received_messages > self.max_messages:
            self.exceeded.set()
        if self.exceeded.is_set():
            raise OutputLimitReached(self.describe())

    def describe(self) -> str:
        return (f"the kernel sent {self.received_messages} messages, {self.received_bytes / MiB:.1f} MiB "
                f"(limits: {self.max_messages} messages, {self.max_bytes / MiB:.0f} MiB)")


# ---------------------------------------------------------------------------
# Plain values

class Malformed(ValueError):
    """A field of a kernel message is not of the type or size the grader accepts."""


def _text(value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    """A string field: strings as they are, lists of strings joined (nbformat's multiline form); capped."""
    if isinstance(value, list) and len(value) <= MAX_JSON_ITEMS and all(isinstance(v, str) for v in value):
        value = "".join(value)
    if not isinstance(value, str):
        raise Malformed(f"expected text, found {type(value).__name__}")
    return value[:limit]


def _count(value: Any) -> int | None:
    """An execution count: nbformat accepts a non-negative integer or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 53 else None


def plain_json(value: Any, max_items: int = MAX_JSON_ITEMS, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A copy of ``value`` made of JSON types only (str keys, numbers, strings capped at
    ``MAX_TEXT_CHARS``), or ``Malformed`` when it is deeper, larger or of other types.
    Iterative: no recursion limit to hit."""
    budget = max_items
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]   # (value, parent, key, depth)
    while stack:
        item, parent, key, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise Malformed("a JSON value with too many items")
        if depth > max_depth:
            raise Malformed("a JSON value nested too deeply")
        if item is None or isinstance(item, (bool, str)):
            copy = item if not isinstance(item, str) else item[:MAX_TEXT_CHARS]
        elif isinstance(item, (int, float)):
            copy = item     # huge integers too: Python reads them, and the judge decides what they mean
        elif isinstance(item, list):
            copy = [None] * len(item)
            budget -= len(item)
            if budget < 0:
                raise Malformed("a JSON value with too many items")
            stack.extend((v, copy, i, depth + 1) for i, v in enumerate(item))
        elif isinstance(item, dict):
            copy = {}
            budget -= len(item)
            if budget < 0:
                raise Malformed("a JSON value with too many items")
            for k, v in item.items():
                if not isinstance(k, str):
                    raise Malformed("a JSON object key that is not a string")
                copy[k[:MAX_NAME_CHARS]] = None
                stack.append((v, copy, k[:MAX_NAME_CHARS], depth + 1))
        else:
            raise Malformed(f"a {type(item).__name__} where JSON was expected")
        parent[key] = copy
    return root[0]


def _mime_bundle(data: Any) -> dict[str, Any]:
    """``{mime type: value}``: JSON types (``…json``) keep any JSON value, every other type is text."""
    if not isinstance(data, dict):
        raise Malformed("display data that is not a MIME bundle")
    bundle = {}
    for mime, value in data.items():
        if not isinstance(mime, str) or not 0 < len(mime) <= MAX_NAME_CHARS or "/" not in mime:
            continue
        try:
            bundle[mime] = plain_json(value) if JSON_MIME.fullmatch(mime) else _text(value)
        except Malformed:
            continue
    return bundle


def _metadata(value: Any) -> dict:
    if not isinstance(value, dict):
        return {}
    try:
        return plain_json(value, max_items=1000, max_depth=4)
    except Malformed:
        return {}


def _content(msg_type: str, content: dict) -> dict | None:
    """The fields nbclient reads for ``msg_type``, each checked; ``None`` drops the message."""
    if msg_type == "status":
        state = content.get("execution_state")
        return {"execution_state": state} if state in EXECUTION_STATES else None
    if msg_type == "execute_input":
        return {"code": "", "execution_count": _count(content.get("execution_count"))}
    if msg_type == "stream":
        name = content.get("name")
        return {"name": name, "text": _text(content.get("text"))} if name in STREAM_NAMES else None
    if msg_type in ("display_data", "execute_result"):
        clean = {"data": _mime_bundle(content.get("data")), "metadata": _metadata(content.get("metadata"))}
        if msg_type == "execute_result":
            clean["execution_count"] = _count(content.get("execution_count"))
        return clean   # no "transient": no display ids, so no output can be rewritten later
    if msg_type == "error":
        traceback = content.get("traceback")
        if not isinstance(traceback, list):
            traceback = []
        lines = [line[:MAX_TEXT_CHARS // 16] for line in traceback[:MAX_TRACEBACK_LINES] if isinstance(line, str)]
        return {"ename": _text(content.get("ename", ""), MAX_NAME_CHARS),
                "evalue": _text(content.get("evalue", ""), MAX_TEXT_CHARS // 16), "traceback": lines}
    if msg_type == "clear_output":
        return {"wait": content.get("wait") is True}
    if msg_type == "iopub_welcome":
        return {}
    if msg_type == "execute_reply":
        status = content.get("status")
        if status not in REPLY_STATUSES:
            return None
        clean = {"status": status, "execution_count": _count(content.get("execution_count"))}
        if status == "error":
            clean.update(ename=_text(content.get("ename", ""), MAX_NAME_CHARS),
                         evalue=_text(content.get("evalue", ""), MAX_TEXT_CHARS // 16), traceback=[])
        return clean
    if msg_type == "kernel_info_reply":
        version = content.get("protocol_version")
        version = version if isinstance(version, str) and PROTOCOL_VERSION.fullmatch(version) else "5.3"
        clean = {"status": "ok", "protocol_version": version}
        info = content.get("language_info")
        if isinstance(info, dict) and isinstance(info.get("name"), str):
            clean["language_info"] = {"name": info["name"][:MAX_NAME_CHARS]}
        return clean
    return None


def _header(header: Any) -> dict:
    if not isinstance(header, dict):
        raise Malformed("a header that is not an object")
    msg_id, msg_type = header.get("msg_id"), header.get("msg_type")
    if not isinstance(msg_id, str) or not isinstance(msg_type, str):
        raise Malformed("a header without msg_id or msg_type")
    clean = {"msg_id": msg_id[:MAX_NAME_CHARS], "msg_type": msg_type[:MAX_NAME_CHARS]}
    date = header.get("date")
    if hasattr(date, "strftime"):   # jupyter_client turns ISO dates into datetimes; keep nothing else
        clean["date"] = date
    return clean


def clean_message(message: Any, channel: str) -> dict | None:
    """A freshly built, well-typed copy of a decoded kernel message, or ``None`` to drop it.

    ``channel`` is ``"iopub"`` or ``"shell"``; each accepts only the message
    types nbclient acts on there. Never raises.
    """
    try:
        if not isinstance(message, dict):
            return None
        header = _header(message.get("header"))
        allowed = IOPUB_TYPES if channel == "iopub" else SHELL_TYPES
        if header["msg_type"] not in allowed:
            return None
        parent = message.get("parent_header")
        parent_id = parent.get("msg_id") if isinstance(parent, dict) else None
        content = message.get("content")
        if not isinstance(content, dict):
            return None
        clean_content = _content(header["msg_type"], content)
        if clean_content is None:
            return None
        return {"header": header, "msg_id": header["msg_id"], "msg_type": header["msg_type"],
                "parent_header": {"msg_id": parent_id} if isinstance(parent_id, str) else {},
                "metadata": {}, "content": clean_content, "buffers": []}
    except (Malformed, RecursionError, MemoryError, ValueError, TypeError, AttributeError, KeyError):
        return None


def output_node(message: dict) -> Any:
    """The notebook output of a message ``clean_message`` kept, or ``None`` for messages that are not outputs.

    Every field was type-checked on the way in, so the output is valid against
    nbformat's schema by construction (the boundary's fuzz tests validate it);
    nbformat's own builder would run its JSON-schema validator on every output,
    about a millisecond each, in the process that serves every kernel. Record
    payloads stay plain JSON values inside the output.
    """
    from nbformat import NotebookNode

    msg_type, content = message["msg_type"], message["content"]
    if msg_type == "stream":
        fields = {"name": content["name"], "text": content["text"]}
    elif msg_type in ("display_data", "execute_result"):
        fields = {"data": NotebookNode(content["data"]), "metadata": NotebookNode(content["metadata"])}
        if msg_type == "execute_result":
            fields["execution_count"] = content["execution_count"]
    elif msg_type == "error":
        fields = {"ename": content["ename"], "evalue": content["evalue"], "traceback": list(content["traceback"])}
    else:
        return None
    return NotebookNode(output_type=msg_type, **fields)


def output_size(output: Any) -> int:
    """Bytes an output costs against the output cap: the length of its strings and keys, plus a
    little per item (an estimate that is cheap, never raises and cannot be fooled by nesting)."""
    total, stack, seen = 0, [output], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_JSON_ITEMS:
            return total + MAX_JSON_ITEMS
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2
            for key, value in item.items():
                total += len(key) + 4 if isinstance(key, str) else 8
                stack.append(value)
        elif isinstance(item, list):
            total += 2
            stack.extend(item)
        else:
            total += 8
    return total


# ---------------------------------------------------------------------------
# Sockets

def decode(frames: list[bytes], session) -> Any:
    """jupyter_client's decoding (signature check, JSON), any failure a dropped message (``None``)."""
    try:
        _, signed = session.feed_identities(frames)
        return session.deserialize(signed)
    except Exception:   # noqa: BLE001 -- malformed bytes from a kernel: drop the message, whatever the error
        return None


class GuardedChannel(AsyncZMQSocketChannel):
    """A shell or IOPub channel that charges every message to a budget and yields only clean ones."""

    budget: ReceiveBudget
    kind: str = "iopub"

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        dropped_in_a_row = 0
        while True:
            wait_ms = None if deadline is None else max(0, math.ceil(1000 * (deadline - time.monotonic())))
            if not await self.socket.poll(wait_ms):
                raise Empty
            frames = await self.socket.recv_multipart()
            self.budget.charge(sum(len(frame) for frame in frames))
            message = clean_message(decode(frames, self.session), self.kind)
            if message is not None:
                return message
            self.budget.dropped_messages += 1
            dropped_in_a_row += 1
            if dropped_in_a_row % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _recv(self, **kwargs: Any) -> dict[str, Any]:
        return await self.get_msg()


def guarded_client_class(base: type) -> type:
    """``base`` (a jupyter_client async kernel client class) with guarded shell and IOPub channels,
    no stdin or control channel (the grader reads neither, so a kernel could only fill them), and
    zmq limits on what its sockets may queue."""

    class GuardedKernelClient(base):
        shell_channel_class = Type(GuardedChannel)
        iopub_channel_class = Type(GuardedChannel)
        budget: ReceiveBudget

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.budget = ReceiveBudget()
            self.context.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
            self.context.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES)

        def _guarded(self, channel, kind: str):
            if isinstance(channel, GuardedChannel):
                channel.budget, channel.kind = self.budget, kind
            return channel

        @property
        def shell_channel(self):
            return self._guarded(super().shell_channel, "shell")

        @property
        def iopub_channel(self):
            return self._guarded(super().iopub_channel, "iopub")

        def start_channels(self, shell=True, iopub=True, stdin=True, hb=True, control=True):
            return super().start_channels(shell=shell, iopub=iopub, stdin=False, hb=hb, control=False)

    GuardedKernelClient.__name__ = GuardedKernelClient.__qualname__ = f"Guarded{base.__name__}"
    return GuardedKernelClient


_GUARDED: dict[type, type] = {}


def guard_kernel_client(km) -> None:
    """Make ``km`` hand out guarded clients, and bound its own sockets' queues the same way."""
    base = km.client_factory
    if base not in _GUARDED:
        _GUARDED[base] = guarded_client_class(base)
    km.client_factory = _GUARDED[base]
    km.context.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
    km.context.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES)
