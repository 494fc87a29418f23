#!/usr/bin/python3
"""A peer that drops the connection in the middle of a C-STORE: associate
(Verification + CT Image Storage, Explicit VR LE), send the C-STORE-RQ command
and the first part of a dataset, then close the socket.
Usage: drop_mid_transfer.py PORT CALLED_AE"""
import socket
import struct
import sys

port, called = int(sys.argv[1]), sys.argv[2]
CT = b"1.2.840.10008.5.1.4.1.1.2"
EXPL = b"1.2.840.10008.1.2.1"


def item(t, data):
    return struct.pack(">BBH", t, 0, len(data)) + data


pc = item(0x20, bytes([1, 0, 0, 0]) + item(0x30, CT) + item(0x40, EXPL))
user = item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4"))
body = struct.pack(">HH", 1, 0) + called.ljust(16).encode() + b"DROPPER".ljust(16) + bytes(32)
body += item(0x10, b"1.2.840.10008.3.1.1.1") + pc + user
s = socket.create_connection(("127.0.0.1", port))
s.sendall(struct.pack(">BBI", 1, 0, len(body)) + body)
ac = s.recv(65536)
assert ac[0] == 2, f"not accepted: PDU type {ac[0]}"


def elem(g, e, vr_bytes):  # implicit VR LE command element
    return struct.pack("<HHI", g, e, len(vr_bytes)) + vr_bytes


uid = b"1.2.3.4.5.6.7.8.9"
cmd = (elem(0, 2, CT + b"\0" if len(CT) % 2 else CT) + elem(0, 0x100, struct.pack("<H", 1))
       + elem(0, 0x110, struct.pack("<H", 7)) + elem(0, 0x700, struct.pack("<H", 0))
       + elem(0, 0x800, struct.pack("<H", 0)) + elem(0, 0x1000, uid + (b"\0" if len(uid) % 2 else b"")))
cmd = elem(0, 0, struct.pack("<I", len(cmd))) + cmd


def pdv(ctx, mch, data):
    p = struct.pack(">IBB", len(data) + 2, ctx, mch) + data
    return struct.pack(">BBI", 4, 0, len(p)) + p


s.sendall(pdv(1, 3, cmd))
# the start of a dataset (explicit VR LE), marked "not last", then vanish
partial = struct.pack("<HH", 8, 0x16) + b"UI" + struct.pack("<H", 26) + CT + b"\0"
s.sendall(pdv(1, 0, partial + bytes(1000)))
s.close()
print("dropped")
