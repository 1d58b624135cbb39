/* SPDX-License-Identifier: MIT
 *
 * The Linux Win32 event objects (win32compat.h).
 */
#include "helpers.h"

#include <poll.h>
#include <pthread.h>

static void test_auto_reset(void)
{
    HANDLE e = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(e != NULL);
    CHECK(WaitForSingleObject(e, 0) == WAIT_TIMEOUT);
    uint64_t t0 = wt_monotonic_ns();
    CHECK(WaitForSingleObject(e, 50) == WAIT_TIMEOUT);
    CHECK(wt_monotonic_ns() - t0 >= 45000000ULL);
    CHECK(SetEvent(e) && SetEvent(e));
    CHECK(WaitForSingleObject(e, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(e, 0) == WAIT_TIMEOUT);
    CHECK(SetEvent(e) && ResetEvent(e));
    CHECK(WaitForSingleObject(e, 0) == WAIT_TIMEOUT);
    CHECK(CloseHandle(e));
}

static void test_manual_reset_and_fd(void)
{
    HANDLE e = CreateEventW(NULL, TRUE, TRUE, NULL);
    int fd = WintunGetEventFd(e);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    CHECK(poll(&p, 1, 0) == 1);
    CHECK(WaitForSingleObject(e, 0) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(e, 0) == WAIT_OBJECT_0);
    CHECK(ResetEvent(e));
    CHECK(poll(&p, 1, 0) == 0);
    CHECK(WaitForSingleObject(e, 0) == WAIT_TIMEOUT);
    CloseHandle(e);
}

static void test_multiple(void)
{
    HANDLE e[3] = { CreateEventW(NULL, FALSE, FALSE, NULL), CreateEventW(NULL, FALSE, FALSE, NULL),
                    CreateEventW(NULL, TRUE, FALSE, NULL) };
    SetEvent(e[1]);
    CHECK(WaitForMultipleObjects(3, e, FALSE, 100) == WAIT_OBJECT_0 + 1);
    CHECK(WaitForMultipleObjects(3, e, FALSE, 10) == WAIT_TIMEOUT);
    CHECK_ERR(WaitForMultipleObjects(3, e, TRUE, 10) != WAIT_FAILED, ERROR_NOT_SUPPORTED);
    CHECK_ERR(WaitForMultipleObjects(0, e, FALSE, 10) != WAIT_FAILED, ERROR_INVALID_PARAMETER);
    for (int i = 0; i < 3; ++i)
        CloseHandle(e[i]);
}

static void test_bad_handles(void)
{
    int not_an_event = 0;
    CHECK_ERR(SetEvent(NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(SetEvent(&not_an_event), ERROR_INVALID_HANDLE);
    CHECK_ERR(CloseHandle(NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(WaitForSingleObject(NULL, 0) != WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunGetEventFd(NULL) >= 0, ERROR_INVALID_HANDLE);
    CHECK_ERR(CreateEventW(NULL, FALSE, FALSE, L"named"), ERROR_NOT_SUPPORTED);
}

/* A handle used after CloseHandle (a thread that fetched a session's read event just before the
 * session ended) is refused, never freed memory (ASan saw a use-after-free here). */
static void test_closed_handles(void)
{
    HANDLE e = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(CloseHandle(e));
    CHECK(WaitForSingleObject(e, 0) == WAIT_FAILED && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK_ERR(SetEvent(e), ERROR_INVALID_HANDLE);
    CHECK_ERR(ResetEvent(e), ERROR_INVALID_HANDLE);
    CHECK_ERR(CloseHandle(e), ERROR_INVALID_HANDLE);
    CHECK(WintunGetEventFd(e) == -1);
    /* Still refused after many newer events came and went. */
    for (int i = 0; i < 200; ++i)
        CloseHandle(CreateEventW(NULL, TRUE, FALSE, NULL));
    CHECK(WaitForSingleObject(e, 0) == WAIT_FAILED);
}

static HANDLE raced;
static int closes_won;

static void *close_raced(void *arg)
{
    (void)arg;
    if (CloseHandle(raced))
        __atomic_add_fetch(&closes_won, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void *wait_raced(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; ++i)
        if (WaitForSingleObject(raced, 0) == WAIT_FAILED)
            break;
    return NULL;
}

/* Two closes and a waiter at once: exactly one close counts, the waiter never crashes. */
static void test_close_races(void)
{
    for (int round = 0; round < 300; ++round) {
        raced = CreateEventW(NULL, FALSE, FALSE, NULL);
        closes_won = 0;
        pthread_t t[3];
        pthread_create(&t[0], NULL, wait_raced, NULL);
        pthread_create(&t[1], NULL, close_raced, NULL);
        pthread_create(&t[2], NULL, close_raced, NULL);
        for (int i = 0; i < 3; ++i)
            pthread_join(t[i], NULL);
        if (closes_won != 1) {
            CHECK(closes_won == 1);
            return;
        }
    }
    CHECK(1);
}

static void *waiter(void *e)
{
    return (void *)(uintptr_t)WaitForSingleObject(e, 5000);
}

/* One SetEvent on an auto-reset event wakes exactly one of several waiters. */
static void test_one_waiter_per_signal(void)
{
    HANDLE e = CreateEventW(NULL, FALSE, FALSE, NULL);
    pthread_t t[3];
    for (int i = 0; i < 3; ++i)
        pthread_create(&t[i], NULL, waiter, e);
    wt_sleep_us(20000);
    for (int i = 0; i < 3; ++i) {
        SetEvent(e);
        wt_sleep_us(5000);
    }
    int woken = 0;
    for (int i = 0; i < 3; ++i) {
        void *r;
        pthread_join(t[i], &r);
        woken += (uintptr_t)r == WAIT_OBJECT_0;
    }
    CHECK(woken == 3);
    CHECK(WaitForSingleObject(e, 0) == WAIT_TIMEOUT);
    CloseHandle(e);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_auto_reset);
    RUN(test_manual_reset_and_fd);
    RUN(test_multiple);
    RUN(test_bad_handles);
    RUN(test_closed_handles);
    RUN(test_close_races);
    RUN(test_one_waiter_per_signal);
    return test_summary();
}
