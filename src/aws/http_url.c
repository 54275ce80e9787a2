// http_url.c: URL parts through libcurl's URL parser (in the http module).
#include <curl/curl.h>
#include <stdlib.h>

#include "aws/http.h"
#include "smflow/util.h"

static char *url__keep(char *s)
{
  char *copy = s ? smf_xstrdup(s) : NULL;
  curl_free(s);
  return copy;
}

int aws_http_url_split(const char *url, struct aws_http_url *out)
{
  *out = (struct aws_http_url){0};
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int rc = -1;
  if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    rc = 0;
  }
  out->scheme = url__keep(scheme);
  out->host = url__keep(host);
  out->port = url__keep(port);
  out->path = url__keep(path);
  curl_url_cleanup(u);
  if (rc != 0) {
    aws_http_url_clear(out);
  }
  return rc;
}

void aws_http_url_clear(struct aws_http_url *u)
{
  free(u->scheme);
  free(u->host);
  free(u->port);
  free(u->path);
  *u = (struct aws_http_url){0};
}
