#!/usr/bin/env python3
"""A small HTTP/1.1 server for the HTTP client's unit tests.

Binds 127.0.0.1 on a free port, prints the port on stdout, serves until stdin
closes. Paths:
  /echo            answers 200 with a JSON summary of the request (method, path,
                   headers, body length, SHA-256 and base64 big-endian CRC32); an
                   aws-chunked body (Content-Encoding: aws-chunked) is decoded as
                   S3 does and checked: its decoded length, CRC32 and trailers,
                   and a 400 BadDigest when the trailing CRC32 does not match
  /fail1/echo      the first request for a given query answers 503 SlowDown,
                   later ones are /echo (a resend must carry the whole body again)
  /bytes?n=N       answers N bytes of a repeating pattern
  /sleep?ms=M      waits M ms, then answers 200
  /status?code=C   answers status C with an S3-style XML error body
  /drop            reads the request, then closes the connection without answering
  /jsonerr         answers 400 with a JSON 1.1 error (__type, message)
With "--tls CERT KEY" it serves HTTPS instead.
Routing uses the last path segment, so "/bucket/echo" is "/echo" (S3 path style).
"""
import base64
import hashlib
import http.server
import json
import socketserver
import sys
import threading
import time
import urllib.parse
import zlib

FAILED_ONCE = set()


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def decode_aws_chunked(raw):
    """S3's aws-chunked coding: hex size CRLF data CRLF ..., 0 CRLF, trailers, CRLF."""
    out, pos, trailers = bytearray(), 0, {}
    while True:
        eol = raw.index(b"\r\n", pos)
        size = int(raw[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            break
        out += raw[pos:pos + size]
        if raw[pos + size:pos + size + 2] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        pos += size + 2
    while True:
        eol = raw.index(b"\r\n", pos)
        line = raw[pos:eol].decode()
        pos = eol + 2
        if not line:
            break
        name, value = line.split(":", 1)
        trailers[name.strip().lower()] = value.strip()
    if pos != len(raw):
        raise ValueError("bytes after the trailers")
    return bytes(out), trailers


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def _send(self, code, body, ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", "REQ-%d" % code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urllib.parse.urlsplit(self.path)
        route = "/" + url.path.rsplit("/", 1)[-1]
        q = dict(urllib.parse.parse_qsl(url.query))
        body = self._body()
        if route == "/jsonerr":
            self._send(400, b'{"__type":"com.amazonaws#ValidationException","message":"bad value"}',
                       "application/x-amz-json-1.1")
            return
        if route == "/drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if route == "/sleep":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
        if route == "/bytes":
            n = int(q.get("n", "0"))
            pat = bytes(range(256))
            data = (pat * (n // 256 + 1))[:n]
            self._send(200, data, "application/octet-stream")
            return
        if route == "/status":
            code = int(q.get("code", "500"))
            err = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                   "<Message>Please reduce your request rate.</Message>"
                   "<RequestId>R1</RequestId></Error>").encode()
            self._send(code, err, "application/xml")
            return
        if "/fail1/" in url.path and url.query not in FAILED_ONCE:
            FAILED_ONCE.add(url.query)
            self._send(503, b"<Error><Code>SlowDown</Code><Message>once</Message></Error>",
                       "application/xml")
            return
        info = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "crc32": crc32_b64(body),
        }
        if "aws-chunked" in (self.headers.get("Content-Encoding") or ""):
            try:
                data, trailers = decode_aws_chunked(body)
            except (ValueError, IndexError) as e:
                self._send(400, ("<Error><Code>IncompleteBody</Code><Message>%s</Message>"
                                 "</Error>" % e).encode(), "application/xml")
                return
            info.update(decoded_length=len(data), decoded_sha256=hashlib.sha256(data).hexdigest(),
                        decoded_crc32=crc32_b64(data), trailers=trailers)
            if trailers.get("x-amz-checksum-crc32") != crc32_b64(data):
                self._send(400, b"<Error><Code>BadDigest</Code><Message>The CRC32 you specified"
                           b" did not match the calculated checksum.</Message></Error>",
                           "application/xml")
                return
        self._send(200, json.dumps(info).encode())

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose (timeouts, cancels) are expected


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdin.read()
    srv.shutdown()


if __name__ == "__main__":
    main()
