"""Imported by the Redfish emulators that bench/redfish/run.sh starts with
PYTHONPATH pointing here: their request handlers set TCP_NODELAY.

tests/redfish/emulator.py (http.server) writes a response's headers and its
body in two send() calls.  Nagle's algorithm then holds the body until the
client acknowledges the headers, and a client on a kept-alive connection
delays that ACK by up to 40 ms: every request after a connection's first
waits ~40 ms.  Real BMCs' web servers do not; this file changes nothing but
that socket option, for the bench's "TCP_NODELAY" rows.
"""
import socketserver

socketserver.StreamRequestHandler.disable_nagle_algorithm = True
