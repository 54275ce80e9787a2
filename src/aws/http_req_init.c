// http_req_init.c: initialising a request needs nothing of libcurl (a step
// does it before it knows whether it will make one), so this file is built
// into the core and into the http module alike.
#include <string.h>

#include "aws/http.h"

void aws_http_req_init(struct aws_http_req *req)
{
  memset(req, 0, sizeof *req);
  req->body_fd = -1;
  req->out_fd = -1;
  req->max_response = AWS_HTTP_DEFAULT_MAX_RESPONSE;
}
