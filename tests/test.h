/* SPDX-License-Identifier: MIT
 *
 * A tiny test harness: CHECK records a failure and goes on, SKIP says what was not tested here
 * and why; every test program ends with the line "N passed, N failed, N skipped" (checked by CI,
 * also under Wine where exit codes lie).
 */
#ifndef WINTUN_TEST_H
#define WINTUN_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int test_passed, test_failed, test_skipped;

/* A part not tested in this build or on this machine, counted as a skip, never as a pass. */
#define SKIP(why)                                                                                  \
    do {                                                                                           \
        ++test_skipped;                                                                            \
        printf("skip %s:%d: %s\n", __FILE__, __LINE__, why);                                     \
        fflush(stdout);                                                                            \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond)                                                                                  \
            __atomic_add_fetch(&test_passed, 1, __ATOMIC_RELAXED);                                                                       \
        else {                                                                                     \
            __atomic_add_fetch(&test_failed, 1, __ATOMIC_RELAXED);                                                                       \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
            fflush(stdout);                                                                        \
        }                                                                                          \
    } while (0)

#define CHECK_ERR(expr, code)                                                                      \
    do {                                                                                           \
        SetLastError(0);                                                                           \
        int ok_ = !!(expr);                                                                        \
        DWORD err_ = GetLastError();                                                               \
        if (!ok_ && err_ == (DWORD)(code))                                                         \
            __atomic_add_fetch(&test_passed, 1, __ATOMIC_RELAXED);                                                                       \
        else {                                                                                     \
            __atomic_add_fetch(&test_failed, 1, __ATOMIC_RELAXED);                                                                       \
            printf("FAIL %s:%d: %s: wanted failure %lu, got %s with %lu\n", __FILE__, __LINE__,   \
                   #expr, (unsigned long)(code), ok_ ? "success" : "failure", (unsigned long)err_); \
            fflush(stdout);                                                                        \
        }                                                                                          \
    } while (0)

#define RUN(test)                                                                                  \
    do {                                                                                           \
        int before_ = test_failed;                                                                 \
        test();                                                                                    \
        printf("%s %s\n", test_failed == before_ ? "ok  " : "FAIL", #test);                        \
        fflush(stdout);                                                                            \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", test_passed, test_failed, test_skipped);
    fflush(stdout);
    return test_failed ? 1 : 0;
}

#endif
