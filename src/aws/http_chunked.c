// http_chunked.c: S3's aws-chunked content coding for request bodies, with the
// payload's CRC32 sent as a trailer. The framing is generated while curl asks
// for body bytes, and the CRC is taken on bytes that were just read into
// curl's buffer (still in cache), so a body is read once from the page cache
// rather than once to checksum it and again to send it.
//
//   <hex length>\r\n<payload>\r\n ... 0\r\n<trailer name>:<base64 crc>\r\n\r\n
#include <stdio.h>
#include <string.h>

#include "aws/http.h"

static size_t hex_len(uint64_t n)
{
  size_t d = 1;
  while (n >= 16) {
    n /= 16;
    d++;
  }
  return d;
}

uint64_t aws_http_chunked_length(uint64_t len, size_t chunk, const char *trailer_name)
{
  uint64_t full = len / chunk, rest = len % chunk;
  uint64_t total = full * (hex_len(chunk) + 2 + chunk + 2);
  if (rest > 0) {
    total += hex_len(rest) + 2 + rest + 2;
  }
  // "0\r\n" name ":" base64 "\r\n" "\r\n"
  return total + 3 + strlen(trailer_name) + 1 + (AWS_CRC_B64_SIZE - 1) + 2 + 2;
}

void aws_http_req_body_chunked_crc32(struct aws_http_req *req, const char *trailer_name,
                                     size_t chunk)
{
  snprintf(req->trailer_name, sizeof req->trailer_name, "%s", trailer_name);
  req->chunk_size = chunk > 0 ? chunk : 1;
  aws__http_chunked_rewind(req);
}

void aws__http_chunked_rewind(struct aws_http_req *req)
{
  req->body_pos = 0;
  req->chunk_left = 0;
  req->pending_len = req->pending_off = 0;
  req->chunked_done = false;
  req->crc = 0;
  req->trailer_crc32[0] = '\0';
}

// At a chunk boundary: queue the next chunk's header, or the end and trailer.
static void chunked_next(struct aws_http_req *req)
{
  uint64_t left = req->body_len - req->body_pos;
  req->pending_off = 0;
  if (left > 0) {
    req->chunk_left = left < req->chunk_size ? left : req->chunk_size;
    req->pending_len = (size_t)snprintf(req->pending, sizeof req->pending, "%llx\r\n",
                                        (unsigned long long)req->chunk_left);
    return;
  }
  aws_crc_b64(req->crc, req->trailer_crc32);
  req->pending_len = (size_t)snprintf(req->pending, sizeof req->pending, "0\r\n%s:%s\r\n\r\n",
                                      req->trailer_name, req->trailer_crc32);
  req->chunked_done = true;
}

size_t aws__http_chunked_read(struct aws_http_req *req, char *buf, size_t n)
{
  size_t out = 0;
  while (out < n) {
    if (req->pending_off < req->pending_len) {
      size_t k = req->pending_len - req->pending_off;
      k = k < n - out ? k : n - out;
      memcpy(buf + out, req->pending + req->pending_off, k);
      req->pending_off += k;
      out += k;
      continue;
    }
    if (req->chunked_done) {
      break;
    }
    if (req->chunk_left == 0) {
      chunked_next(req);
      continue;
    }
    size_t want = req->chunk_left < n - out ? (size_t)req->chunk_left : n - out;
    size_t got = aws__http_body_read(req, buf + out, want);
    if (got == (size_t)-1) {
      return CURL_READFUNC_ABORT;
    }
    req->crc = aws_crc32(req->crc, buf + out, got);
    req->chunk_left -= got;
    out += got;
    if (req->chunk_left == 0) {
      req->pending_len = 2;
      req->pending_off = 0;
      memcpy(req->pending, "\r\n", 2);
    }
  }
  return out;
}
