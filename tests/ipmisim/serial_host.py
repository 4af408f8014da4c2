#!/usr/bin/env python3
"""serial_host.py - the host's side of a simulated serial port, for ipmi_sim's
Serial-over-LAN (lan.conf: sol "tcp:127.0.0.1:PORT" 115200; see README.md).

    serial_host.py PORT RECEIVED FIFO

Listens on 127.0.0.1:PORT for ipmi_sim (which connects when it starts, and
again after a restart), appends every byte the BMC sends (what a console
client typed) to the file RECEIVED, and sends to the BMC every byte written
into the named pipe FIFO (created if missing): what the host "prints" on its
serial port.  Runs until killed.
"""
import os
import select
import socket
import sys
import time


def main():
    port, received, fifo = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if not os.path.exists(fifo):
        os.mkfifo(fifo, 0o600)
    # O_RDWR: the pipe never reports end of file when a writer closes
    ff = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)
    conn = None
    out = open(received, "ab", buffering=0)
    while True:
        rl = [ls, ff] + ([conn] if conn else [])
        r, _, _ = select.select(rl, [], [], 1.0)
        if ls in r:
            c, _ = ls.accept()
            if conn:
                conn.close()
            conn = c
            print("serial_host: %.3f the BMC connected" % time.time(), flush=True)
        if conn and conn in r:
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data:
                conn.close()
                conn = None
                print("serial_host: %.3f the BMC disconnected" % time.time(), flush=True)
            else:
                out.write(data)
        if ff in r:
            try:
                data = os.read(ff, 4096)
            except BlockingIOError:
                data = b""
            if data and conn:
                try:
                    conn.sendall(data)
                except OSError:
                    conn.close()
                    conn = None


if __name__ == "__main__":
    main()
