#!/usr/bin/env python3
"""Fake credential endpoints for the credentials provider's unit tests.

Binds 127.0.0.1 on a free port, prints the port on stdout, serves until stdin
closes. It plays:
  IMDSv2      PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[ROLE]
  container   GET /creds (needs "Authorization: Bearer good")
  STS         POST /sts/ (Action=AssumeRole, signature checked with botocore's
              SigV4 code; Action=AssumeRoleWithWebIdentity, must be unsigned)
  stats       GET /_stats: JSON counts of requests per kind
Every issued key id is numbered; its secret is "secret-" + key id, so the
server can check signatures made with credentials it issued itself.
"""
import http.server
import json
import re
import socketserver
import sys
import threading
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EXPIRATION = "2030-01-01T00:00:00Z"
IMDS_TOKEN = "imds-session-token"
SECRETS = {"AKIDSOURCE": "sourcesecret"}
TOKENS = {}
COUNTS = {}
LOCK = threading.Lock()


def issue(prefix):
    with LOCK:
        COUNTS[prefix] = COUNTS.get(prefix, 0) + 1
        key = "ASIA%s%d" % (prefix.upper(), COUNTS[prefix])
    SECRETS[key] = "secret-" + key
    TOKENS[key] = "token-" + key
    return key


def sts_xml(action, key):
    return ("<{a}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{a}Result>"
            "<Credentials><AccessKeyId>{k}</AccessKeyId><SecretAccessKey>{s}</SecretAccessKey>"
            "<SessionToken>{t}</SessionToken><Expiration>{e}</Expiration></Credentials>"
            "</{a}Result><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>"
            "</{a}Response>").format(a=action, k=key, s=SECRETS[key], t=TOKENS[key], e=EXPIRATION)


def sts_error(code, msg):
    return ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
            "<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>rid-err</RequestId></ErrorResponse>") % (code, msg)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json_creds(self, prefix):
        key = issue(prefix)
        return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key,
                           "SecretAccessKey": SECRETS[key], "Token": TOKENS[key],
                           "Expiration": EXPIRATION})

    def do_PUT(self):
        self._count("imds-token")
        if self.path != "/latest/api/token" or \
                not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self._send(400, "")
        self._send(200, IMDS_TOKEN, "text/plain")

    def do_GET(self):
        if self.path == "/_stats":
            return self._send(200, json.dumps(COUNTS))
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            role = self.path.rsplit("/", 1)[1]
            self._count("imds-get")
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self._send(401, "")
            if role == "":
                return self._send(200, "test-role\n", "text/plain")
            if role != "test-role":
                return self._send(404, "")
            return self._send(200, self._json_creds("imds"))
        if self.path == "/creds":
            self._count("container-get")
            if self.headers.get("Authorization") != "Bearer good":
                return self._send(401, json.dumps({"message": "bad token"}))
            return self._send(200, self._json_creds("cont"))
        self._send(404, "")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        action = form.get("Action")
        self._count("sts-" + str(action))
        if self.path != "/sts/" or form.get("Version") != "2011-06-15":
            return self._send(400, sts_error("InvalidAction", "bad path or version"), "text/xml")
        if "denied" in form.get("RoleArn", ""):
            return self._send(403, sts_error("AccessDenied", "not allowed"), "text/xml")
        if action == "AssumeRoleWithWebIdentity":
            if "Authorization" in self.headers:
                return self._send(400, sts_error("InvalidRequest", "signed"), "text/xml")
            if form.get("WebIdentityToken") != "oidc-token" or not form.get("RoleSessionName"):
                return self._send(400, sts_error("InvalidIdentityToken", "bad token"), "text/xml")
            return self._send(200, sts_xml(action, issue("web")), "text/xml")
        if action == "AssumeRole":
            problem = self._check_signature(body)
            if problem:
                return self._send(403, sts_error("SignatureDoesNotMatch", problem), "text/xml")
            return self._send(200, sts_xml(action, issue("role")), "text/xml")
        self._send(400, sts_error("InvalidAction", str(action)), "text/xml")

    def _count(self, what):
        with LOCK:
            COUNTS[what] = COUNTS.get(what, 0) + 1

    def _check_signature(self, body):
        auth = self.headers.get("Authorization", "")
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sts/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
        if not m:
            return "malformed Authorization"
        key, _, region, signed, sig = m.groups()
        if key not in SECRETS:
            return "unknown key " + key
        if key in TOKENS and self.headers.get("X-Amz-Security-Token") != TOKENS[key]:
            return "missing or wrong session token"
        headers = {h: self.headers[h] for h in signed.split(";")}
        req = AWSRequest(method="POST", url="http://%s%s" % (self.headers["Host"], self.path),
                         data=body, headers=headers)
        req.context["timestamp"] = self.headers["X-Amz-Date"]
        signer = SigV4Auth(Credentials(key, SECRETS[key], TOKENS.get(key)), "sts", region)
        canonical = signer.canonical_request(req)
        want = signer.signature(signer.string_to_sign(req, canonical), req)
        return None if want == sig else "signature mismatch; botocore canonical:\n" + canonical


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdin.read()
    srv.shutdown()


if __name__ == "__main__":
    main()
