// A small test harness: TEST(name) registers a function, EXPECT* record failures with file and
// line and let the test go on, and tests/runner.c runs everything and ends with the line
// "N passed, N failed" that CI reads.
#ifndef YOLO_TESTS_TEST_H
#define YOLO_TESTS_TEST_H

#include <math.h>
#include <string.h>

#include "core/status.h"

typedef void (*TestFn)(void);

void test_register(const char *name, TestFn fn);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                                                  \
    static void name(void);                                                                         \
    __attribute__((constructor)) static void register_##name(void) { test_register(#name, name); } \
    static void name(void)

#define EXPECT(cond)                                                                                \
    do {                                                                                            \
        if (!(cond)) test_fail(__FILE__, __LINE__, "expected %s", #cond);                          \
    } while (0)

// For calls returning 0 on success: a failure prints the engine's error message.
#define EXPECT_OK(expr)                                                                             \
    do {                                                                                            \
        if ((expr) != 0) {                                                                          \
            test_fail(__FILE__, __LINE__, "%s failed: %s", #expr, yolo_error());                   \
            yolo_error_clear();                                                                     \
        }                                                                                           \
    } while (0)

// For calls that must fail; the message they leave is checked to contain `fragment`.
#define EXPECT_FAILS_WITH(expr, fragment)                                                           \
    do {                                                                                            \
        yolo_error_clear();                                                                         \
        if ((expr) == 0) test_fail(__FILE__, __LINE__, "%s succeeded but should fail", #expr);     \
        else if (!strstr(yolo_error(), (fragment)))                                                 \
            test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", #expr, yolo_error(), (fragment)); \
        yolo_error_clear();                                                                         \
    } while (0)

#define EXPECT_NEAR(a, b, tol)                                                                      \
    do {                                                                                            \
        double a_ = (a), b_ = (b);                                                                  \
        if (!(fabs(a_ - b_) <= (tol)))                                                              \
            test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, differ by more than %g", #a, a_, #b, b_, (double)(tol)); \
    } while (0)

#endif
