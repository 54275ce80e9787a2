// ping.c: a tiny non-blocking HTTP/1.0 GET on a uv TCP handle, to ask a local
// model server for `GET /ping` while it starts. Only the status line is read.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/local/local.h"

#define PING_TIMEOUT_MS 2000

struct ping {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  uv_timer_t timer;
  int handles;
  char req[160];
  char head[64];
  size_t head_len;
  int status;
  bool reported;
  local_ping_cb cb;
  void *data;
};

static void ping_on_close(uv_handle_t *h)
{
  struct ping *p = h->data;
  if (--p->handles == 0) {
    free(p);
  }
}

// Report once, then close both handles.
static void ping_finish(struct ping *p)
{
  if (p->reported) {
    return;
  }
  p->reported = true;
  p->cb(p->data, p->status);
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, ping_on_close);
  uv_close((uv_handle_t *)&p->tcp, ping_on_close);
}

static void ping_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  struct ping *p = h->data;
  size_t room = sizeof(p->head) - 1 - p->head_len;
  static char sink[4096];  // body bytes past the status line are discarded
  *buf =
      room ? uv_buf_init(p->head + p->head_len, (unsigned)room) : uv_buf_init(sink, sizeof(sink));
}

static void ping_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  struct ping *p = s->data;
  if (n > 0 && buf->base == p->head + p->head_len) {
    p->head_len += (size_t)n;
    p->head[p->head_len] = '\0';
  }
  int major, minor, code;
  if (p->status == 0 && sscanf(p->head, "HTTP/%d.%d %d", &major, &minor, &code) == 3 &&
      strchr(p->head, '\n')) {
    p->status = code;
    ping_finish(p);
    return;
  }
  if (n < 0) {
    ping_finish(p);
  }
}

static void ping_on_write(uv_write_t *w, int status)
{
  struct ping *p = w->data;
  if (status != 0) {
    ping_finish(p);
    return;
  }
  uv_read_start((uv_stream_t *)&p->tcp, ping_alloc, ping_on_read);
}

static void ping_on_connect(uv_connect_t *c, int status)
{
  struct ping *p = c->data;
  if (status != 0) {
    ping_finish(p);
    return;
  }
  uv_buf_t buf = uv_buf_init(p->req, (unsigned)strlen(p->req));
  p->wr.data = p;
  if (uv_write(&p->wr, (uv_stream_t *)&p->tcp, &buf, 1, ping_on_write) != 0) {
    ping_finish(p);
  }
}

static void ping_on_timeout(uv_timer_t *t)
{
  ping_finish(t->data);
}

int local_ping(uv_loop_t *loop, int port, const char *path, local_ping_cb cb, void *data,
               struct smf_error *err)
{
  struct ping *p = smf_xcalloc(1, sizeof(*p));
  p->cb = cb;
  p->data = data;
  snprintf(p->req, sizeof(p->req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
  uv_tcp_init(loop, &p->tcp);
  uv_timer_init(loop, &p->timer);
  p->tcp.data = p->timer.data = p->conn.data = p;
  p->handles = 2;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  int rc = uv_tcp_connect(&p->conn, &p->tcp, (const struct sockaddr *)&addr, ping_on_connect);
  if (rc != 0) {
    p->reported = true;  // the callback never runs
    uv_close((uv_handle_t *)&p->timer, ping_on_close);
    uv_close((uv_handle_t *)&p->tcp, ping_on_close);
    return SMF_ERR_SET(err, SMF_EHTTP, "connect 127.0.0.1:%d: %s", port, uv_strerror(rc));
  }
  uv_timer_start(&p->timer, ping_on_timeout, PING_TIMEOUT_MS, 0);
  return 0;
}
