// test_xml.c: the expat-built XML tree used for S3 and STS answers.
#include <string.h>

#include "aws/xml.h"
#include "smflow/error.h"
#include "test.h"

TEST(s3_listing)
{
  static const char doc_text[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b</Key><Size>5</Size></Contents>"
      "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
      "<Contents><Key><![CDATA[c<d]]></Key><Size>7</Size></Contents>"
      "<NextContinuationToken>tok/en=</NextContinuationToken></ListBucketResult>";
  struct aws_xml_doc doc;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_xml_parse(doc_text, strlen(doc_text), &doc, &err), 0);
  ASSERT_STREQ(doc.root->name, "ListBucketResult");  // namespace dropped
  ASSERT_STREQ(aws_xml_child_text(doc.root, "IsTruncated"), "true");
  const struct aws_xml_node *k = aws_xml_child(doc.root, "Contents");
  ASSERT_STREQ(aws_xml_child_text(k, "Key"), "a&b");
  k = aws_xml_next_same(k);
  ASSERT(k != NULL);
  ASSERT_STREQ(aws_xml_child_text(k, "Key"), "c<d");
  ASSERT_STREQ(aws_xml_child_text(k, "Size"), "7");
  ASSERT(aws_xml_next_same(k) == NULL);
  ASSERT_STREQ(aws_xml_find(doc.root, "Prefix")->text, "p/");
  ASSERT_STREQ(aws_xml_child_text(doc.root, "NextContinuationToken"), "tok/en=");
  ASSERT(aws_xml_child_text(doc.root, "Missing") == NULL);
  ASSERT(aws_xml_child(NULL, "x") == NULL);
  aws_xml_free(&doc);
}

TEST(sts_error)
{
  static const char t[] =
      "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
      "<Type>Sender</Type><Code>AccessDenied</Code><Message>not\nallowed</Message></Error>"
      "<RequestId>r-1</RequestId></ErrorResponse>";
  struct aws_xml_doc doc;
  ASSERT_EQ(aws_xml_parse(t, strlen(t), &doc, NULL), 0);
  const struct aws_xml_node *e = aws_xml_find(doc.root, "Error");
  ASSERT_STREQ(aws_xml_child_text(e, "Code"), "AccessDenied");
  ASSERT_STREQ(aws_xml_child_text(e, "Message"), "not\nallowed");
  ASSERT_STREQ(aws_xml_find(doc.root, "RequestId")->text, "r-1");
  aws_xml_free(&doc);
}

TEST(bad_documents)
{
  struct aws_xml_doc doc;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_xml_parse("<a><b></a>", 10, &doc, &err), SMF_EPARSE);
  ASSERT_CONTAINS(err.message, "XML: mismatched tag");
  ASSERT_EQ(aws_xml_parse("", 0, &doc, NULL), SMF_EPARSE);
  // Deeper than any AWS answer: refused rather than walked recursively.
  char deep[64 * 3 + 100 * 7 + 1];
  size_t n = 0;
  for (int i = 0; i < 100; i++) {
    memcpy(deep + n, "<a>", 3);
    n += 3;
  }
  for (int i = 0; i < 100; i++) {
    memcpy(deep + n, "</a>", 4);
    n += 4;
  }
  ASSERT_EQ(aws_xml_parse(deep, n, &doc, &err), SMF_EPARSE);
  // An entity expansion bomb is stopped by expat's amplification limit.
  static const char bomb[] =
      "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">"
      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
      "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
      "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
      "]><l>&e;&e;&e;&e;&e;&e;&e;&e;</l>";
  ASSERT_EQ(aws_xml_parse(bomb, strlen(bomb), &doc, &err), SMF_EPARSE);
}

int main(void)
{
  RUN_TEST(s3_listing);
  RUN_TEST(sts_error);
  RUN_TEST(bad_documents);
  return TEST_REPORT();
}
