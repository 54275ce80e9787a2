// http_sync.c: one blocking POST with libcurl's easy interface (in the http
// module), for commands that have no event loop (invoke of a local endpoint).
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "aws/http.h"
#include "smflow/util.h"

static size_t sync__write(char *p, size_t size, size_t n, void *data)
{
  smf_buf_append(data, p, size * n);
  return size * n;
}

int aws_http_post_sync(const char *url, const void *body, size_t len, const char *ctype,
                       const char *accept, long *status, struct smf_buf *resp, char *why,
                       size_t why_cap)
{
  CURL *c = curl_easy_init();
  if (c == NULL) {
    snprintf(why, why_cap, "cannot create an HTTP handle");
    *status = 0;
    return SMF_EHTTP;
  }
  char err[CURL_ERROR_SIZE] = "";
  struct curl_slist *h = NULL;
  char *ct = smf_xasprintf("Content-Type: %s", ctype);
  h = curl_slist_append(h, ct);
  free(ct);
  if (accept) {
    char *ac = smf_xasprintf("Accept: %s", accept);
    h = curl_slist_append(h, ac);
    free(ac);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sync__write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  *status = 0;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  } else {
    snprintf(why, why_cap, "%s", err[0] ? err : curl_easy_strerror(rc));
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return rc == CURLE_OK ? 0 : SMF_EHTTP;
}
