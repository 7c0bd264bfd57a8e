"""Test origins for the swift-tunnel test suite, in one process.

Starts, on loopback with ephemeral ports: an HTTP/1.1 keep-alive server (plain, and TLS when
--cert/--key are given), the same server on a unix socket (--unix PATH), a WebSocket echo server
and a TCP echo server. Prints one JSON line with the addresses, then serves until killed.

HTTP paths:
  GET  /bytes/N            N deterministic bytes (byte i = i % 251), Content-Length
  GET  /chunked/N          the same bytes, chunked, 1000 bytes per chunk
  POST /echo               the request body back (Content-Length or chunked request),
                           with X-Body-SHA256 and X-Request-Framing headers
  GET  /sse?n=N&ms=M       N server-sent events, M ms apart, each flushed on its own
  GET  /status/NNN         an empty response with that status
  GET  /headers            the request headers as JSON (names as received, repeated kept)
  GET  /conn               the client's port, to observe connection reuse
  GET  /hang               never answers
"""
import argparse
import asyncio
import hashlib
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def pattern(n):
    block = bytes(i % 251 for i in range(251 * 64))
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


ThreadingHTTPServer.request_queue_size = 512


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data), "chunked"
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length), "content-length" if "Content-Length" in self.headers else "none"

    def send_bytes(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path.startswith("/bytes/"):
            self.send_bytes(200, pattern(int(path[7:])), [("Content-Type", "application/octet-stream")])
        elif path.startswith("/chunked/"):
            data = pattern(int(path[9:]))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 1000):
                piece = data[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/sse":
            count, delay = int(params.get("n", "3")), int(params.get("ms", "100")) / 1000
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(count):
                event = ("data: event %d %f\n\n" % (i, time.time())).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                time.sleep(delay)
            self.wfile.write(b"0\r\n\r\n")
        elif path.startswith("/status/"):
            self.send_bytes(int(path[8:]), b"")
        elif path == "/headers":
            body = json.dumps([[k, v] for k, v in self.headers.items()]).encode()
            self.send_bytes(200, body, [("Content-Type", "application/json")])
        elif path == "/conn":
            port = self.client_address[1] if isinstance(self.client_address, tuple) else 0
            self.send_bytes(200, str(port).encode())
        elif path == "/hang":
            time.sleep(3600)
        else:
            self.send_bytes(404, b"not found\n")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "1234")
        self.end_headers()

    def do_POST(self):
        body, framing = self.read_body()
        self.send_bytes(200, body, [("X-Body-SHA256", hashlib.sha256(body).hexdigest()), ("X-Request-Framing", framing)])

    do_PUT = do_POST


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 512

    def get_request(self):
        request, _ = super().get_request()
        return request, ("unix", 0)


async def websocket_echo(port_holder, ready):
    import websockets

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", 0, max_size=None) as server:
        port_holder.append(server.sockets[0].getsockname()[1])
        ready.set()
        await asyncio.Future()


def tcp_echo_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def serve(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    conn.shutdown(socket.SHUT_WR)
                    return
                conn.sendall(data)

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--unix")
    args = parser.parse_args()

    info = {}
    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    info["http"] = http.server_address[1]

    if args.cert:
        https = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        https.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        https.socket = context.wrap_socket(https.socket, server_side=True)
        threading.Thread(target=https.serve_forever, daemon=True).start()
        info["https"] = https.server_address[1]

    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        unix = UnixHTTPServer(args.unix, Handler)
        threading.Thread(target=unix.serve_forever, daemon=True).start()
        info["unix"] = args.unix

    info["tcp"] = tcp_echo_server()

    ws_port, ready = [], threading.Event()
    threading.Thread(target=lambda: asyncio.run(websocket_echo(ws_port, ready)), daemon=True).start()
    ready.wait(10)
    info["ws"] = ws_port[0] if ws_port else 0

    print(json.dumps(info), flush=True)
    try:
        sys.stdin.read()  # exits when the test closes our stdin or kills us
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
