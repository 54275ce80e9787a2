// fuzz_aws_answers.c: libFuzzer target for what a server sends back: the XML
// tree (expat) walked the way the S3/STS clients walk it, and the error
// translation (JSON __type / XML <Error>) into struct smf_error.
#include <stdint.h>
#include <string.h>

#include "aws/client_int.h"
#include "aws/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct aws_xml_doc doc;
  if (aws_xml_parse((const char *)data, size, &doc, NULL) == 0) {
    const struct aws_xml_node *e = aws_xml_find(doc.root, "Error");
    (void)aws_xml_child_text(e, "Code");
    for (const struct aws_xml_node *k = aws_xml_child(doc.root, "Contents"); k;
         k = aws_xml_next_same(k)) {
      (void)aws_xml_child_text(k, "Key");
    }
    aws_xml_free(&doc);
  }
  struct aws_http_req req;
  aws_http_req_init(&req);
  smf_buf_append(&req.body, data, size);
  req.status = 400;
  struct smf_error err = SMF_ERROR_INIT;
  aws__parse_error(&req, AWS_SVC_S3, "Op", &err);
  aws_http_req_cleanup(&req);
  return 0;
}
