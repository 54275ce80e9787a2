// test.h: tiny assertion macros for the unit test executables (libuv's task.h idea).
// Each test file defines TEST(name) functions and lists them in main() with RUN_TEST.
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test__failures;
static int test__passed;

#define ASSERT(expr)                                                          \
  do {                                                                        \
    if (!(expr)) {                                                            \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr); \
      abort();                                                                \
    }                                                                         \
  } while (0)

#define ASSERT_EQ(a, b)                                                             \
  do {                                                                              \
    long long test__a = (long long)(a), test__b = (long long)(b);                   \
    if (test__a != test__b) {                                                       \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
              #b, test__a, test__b);                                                \
      abort();                                                                      \
    }                                                                               \
  } while (0)

#define ASSERT_STREQ(a, b)                                                             \
  do {                                                                                 \
    const char *test__a = (a), *test__b = (b);                                         \
    if (test__a == NULL || test__b == NULL || strcmp(test__a, test__b) != 0) {         \
      fprintf(stderr, "%s:%d: %s == %s failed:\n  \"%s\"\n  \"%s\"\n", __FILE__, __LINE__, \
              #a, #b, test__a ? test__a : "(null)", test__b ? test__b : "(null)");     \
      abort();                                                                         \
    }                                                                                  \
  } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                      \
  do {                                                                                    \
    const char *test__h = (hay), *test__n = (needle);                                     \
    if (test__h == NULL || strstr(test__h, test__n) == NULL) {                            \
      fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,      \
              test__h ? test__h : "(null)", test__n);                                     \
      abort();                                                                            \
    }                                                                                     \
  } while (0)

#define TEST(name) static void test_##name(void)

#define RUN_TEST(name)                  \
  do {                                  \
    fprintf(stderr, "-- %s\n", #name);  \
    test_##name();                      \
    test__passed++;                     \
  } while (0)

#define TEST_REPORT() (printf("%d passed, %d failed\n", test__passed, test__failures), 0)
