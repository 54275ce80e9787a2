#!/usr/bin/env python3
"""recorder.py PORTFILE LOG: a chat-webhook stand-in for the hooks tests.

Listens on 127.0.0.1 (a free port, written to PORTFILE), appends one JSON line
per request to LOG ({"method", "path", "content_type", "body"}) and answers
200 {"ok": true}. GET/POST /slow answers after 30 s (for cancel tests);
/status/NNN answers with status NNN. Stops by itself after 10 minutes.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(sys.argv[2], "a", encoding="utf-8") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "content_type": self.headers.get("Content-Type"),
                                "body": body}) + "\n")
        status = 200
        if self.path == "/slow":
            time.sleep(30)
        elif self.path.startswith("/status/"):
            status = int(self.path.split("/")[2])
        out = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Recorder", "yes")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
threading.Timer(600, srv.shutdown).start()
srv.serve_forever()
