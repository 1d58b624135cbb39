"""wintun-helper's protocol (driver/kernel/helper_protocol.h), as far as Python needs it: to tell
whether the helper is reachable and admits this user (python -m wintun info), and for tests.
Adapters themselves are made by the C library, which uses the helper on its own when the process
lacks CAP_NET_ADMIN."""
from __future__ import annotations

import os
import socket
import struct
from typing import Optional, Tuple

MAGIC = 0x50485457
VERSION = 1
CREATE, SET_MTU, ADD_ADDRESS, DELETE_ADDRESS, SET_UP, QUERY, CLOSE = range(1, 8)
REPLY = 0x8000
HEADER = struct.Struct("=IHHII")  # magic, version, type, adapter, length
DEFAULT_SOCKET = "/run/wintun/helper.sock"
ERROR_ACCESS_DENIED, ERROR_NOT_FOUND = 5, 1168


def socket_path() -> str:
    return os.environ.get("WINTUN_HELPER_SOCKET") or DEFAULT_SOCKET


def message(kind: int, adapter: int = 0, payload: bytes = b"", version: int = VERSION) -> bytes:
    return HEADER.pack(MAGIC, version, kind, adapter, len(payload)) + payload


def create_payload(name: str, tunnel_type: str = "Wintun", guid: bytes = bytes(16)) -> bytes:
    n, t = name.encode(), tunnel_type.encode()
    return guid + bytes([len(n), len(t)]) + n + t


def read_reply(sock: socket.socket) -> Tuple[int, int, int, str, bytes]:
    """(type, adapter, status, text, the rest of the payload) of the next reply."""
    header = _exactly(sock, HEADER.size)
    magic, _, kind, adapter, length = HEADER.unpack(header)
    if magic != MAGIC or not kind & REPLY:
        raise ValueError("not a wintun-helper reply")
    payload = _exactly(sock, length)
    status, text_len = struct.unpack_from("=IH", payload)
    text = payload[6:6 + text_len].decode(errors="replace")
    return kind & ~REPLY, adapter, status, text, payload[6 + text_len:]


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("wintun-helper closed the connection")
        data += chunk
    return data


def probe(path: Optional[str] = None, timeout: float = 2.0) -> Tuple[bool, str]:
    """(admitted, what to tell the user): a QUERY for an adapter that does not exist, which an
    admitted user gets NOT_FOUND for and anyone else ACCESS_DENIED with the group's name."""
    path = path or socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(message(QUERY, 0xFFFFFFFF))
            _, _, status, text, _ = read_reply(sock)
    except FileNotFoundError:
        return False, f"not running (no socket at {path})"
    except (OSError, ValueError) as error:
        return False, f"not reachable at {path}: {error}"
    if status == ERROR_NOT_FOUND:
        return True, f"reachable at {path}; this user is admitted"
    return False, f"reachable at {path}, but it refuses this user: {text}"
