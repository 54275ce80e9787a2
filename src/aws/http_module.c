// http_module.c: the table of smflow-http.so, `smflow_module_http`.
#include "aws/http_module.h"

#ifndef SMF_BUILD_ID
#error "SMF_BUILD_ID must be defined for http_module.c"
#endif

__attribute__((visibility("default"))) extern const struct aws_http_module smflow_module_http;
const struct aws_http_module smflow_module_http = {
    .hdr = {.build = SMF_BUILD_ID, .size = sizeof(struct aws_http_module)},
    .new = aws_http_new,
    .close = aws_http_close,
    .active = aws_http_active,
    .connects = aws_http_connects,
    .req_cleanup = aws_http_req_cleanup,
    .req_reset = aws_http_req_reset,
    .req_set = aws_http_req_set,
    .req_header = aws_http_req_header,
    .req_body_mem = aws_http_req_body_mem,
    .req_body_fd = aws_http_req_body_fd,
    .req_body_chunked_crc32 = aws_http_req_body_chunked_crc32,
    .chunked_length = aws_http_chunked_length,
    .req_output_file = aws_http_req_output_file,
    .req_max_response = aws_http_req_max_response,
    .req_timeouts = aws_http_req_timeouts,
    .req_stall_timeout = aws_http_req_stall_timeout,
    .req_ca_bundle = aws_http_req_ca_bundle,
    .req_fresh_connect = aws_http_req_fresh_connect,
    .req_start = aws_http_req_start,
    .req_cancel = aws_http_req_cancel,
    .req_header_get = aws_http_req_header_get,
    .url_split = aws_http_url_split,
    .url_clear = aws_http_url_clear,
    .post_sync = aws_http_post_sync,
};
