/* SPDX-License-Identifier: MIT
 *
 * Win32 events and the last error, for Linux (win32compat.h).
 *
 * An event is an eventfd (non-blocking): signalled <=> its counter is non-zero, so the fd is
 * readable exactly while the event is set and fits poll/epoll/asyncio. SetEvent adds 1;
 * an auto-reset wait consumes the counter with read() and retries if another waiter took it
 * first; ResetEvent drains it. A "woken for good" event (wt_event_wake_all, used at teardown)
 * is never consumed again, so every waiter returns. Waiters hold a reference, so closing an
 * event while another thread waits on it does not free it under that thread. An event inherited
 * by a forked child is not the child's: every call on it there fails with ERROR_INVALID_HANDLE.
 */
#ifndef _WIN32
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "platform.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVENT_MAGIC 0x57544556u /* "WTEV" */

struct wt_event
{
    uint32_t magic;
    int fd;
    int manual_reset;
    int woken_for_good;
    int refs;
    unsigned generation; /* wt_process_generation() at creation */
};

static _Thread_local DWORD last_error;

DWORD WintunCompat_GetLastError(void) { return last_error; }
void WintunCompat_SetLastError(DWORD error) { last_error = error; }

/* An event inherited across fork() shares its eventfd with the parent: signalling or draining it
 * in the child would act on the parent's event, so the child gets ERROR_INVALID_HANDLE. */
static struct wt_event *event_from(HANDLE h)
{
    struct wt_event *e = h;
    if (!e || __atomic_load_n(&e->magic, __ATOMIC_RELAXED) != EVENT_MAGIC || e->generation != wt_process_generation()) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    return e;
}

static void event_ref(struct wt_event *e) { __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED); }

static void event_unref(struct wt_event *e)
{
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL))
        return;
    e->magic = 0;
    close(e->fd);
    free(e);
}

HANDLE WintunCompat_CreateEventW(void *attributes, BOOL manual_reset, BOOL initial_state, LPCWSTR name)
{
    if (attributes || name) {
        SetLastError(ERROR_NOT_SUPPORTED);
        return NULL;
    }
    struct wt_event *e = calloc(1, sizeof(*e));
    if (!e) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    e->fd = eventfd(initial_state ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->fd < 0) {
        SetLastError(wt_win32_from_errno(errno));
        free(e);
        return NULL;
    }
    e->manual_reset = !!manual_reset;
    e->refs = 1;
    e->generation = wt_process_generation();
    e->magic = EVENT_MAGIC;
    return e;
}

BOOL WintunCompat_SetEvent(HANDLE h)
{
    struct wt_event *e = event_from(h);
    if (!e)
        return FALSE;
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: already signalled. */
    if (write(e->fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        SetLastError(wt_win32_from_errno(errno));
        return FALSE;
    }
    return TRUE;
}

static void event_drain(struct wt_event *e)
{
    uint64_t v;
    while (read(e->fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

BOOL WintunCompat_ResetEvent(HANDLE h)
{
    struct wt_event *e = event_from(h);
    if (!e)
        return FALSE;
    if (!__atomic_load_n(&e->woken_for_good, __ATOMIC_ACQUIRE))
        event_drain(e);
    return TRUE;
}

BOOL WintunCompat_CloseHandle(HANDLE h)
{
    struct wt_event *e = event_from(h);
    if (!e)
        return FALSE;
    event_unref(e);
    return TRUE;
}

int WintunGetEventFd(HANDLE h)
{
    struct wt_event *e = event_from(h);
    return e ? e->fd : -1;
}

void wt_event_wake_all(HANDLE h)
{
    struct wt_event *e = event_from(h);
    if (!e)
        return;
    __atomic_store_n(&e->woken_for_good, 1, __ATOMIC_RELEASE);
    SetEvent(h);
}

/* Takes the signal of an auto-reset event; 0 if another waiter took it first. */
static int event_consume(struct wt_event *e)
{
    if (e->manual_reset || __atomic_load_n(&e->woken_for_good, __ATOMIC_ACQUIRE))
        return 1;
    uint64_t v;
    for (;;) {
        if (read(e->fd, &v, sizeof(v)) == sizeof(v))
            return 1;
        if (errno != EINTR)
            return 0;
    }
}

DWORD WintunCompat_WaitForMultipleObjects(DWORD count, const HANDLE *handles, BOOL wait_all, DWORD ms)
{
    if (!count || count > MAXIMUM_WAIT_OBJECTS || !handles || wait_all) {
        SetLastError(wait_all ? ERROR_NOT_SUPPORTED : ERROR_INVALID_PARAMETER);
        return WAIT_FAILED;
    }
    struct wt_event *events[MAXIMUM_WAIT_OBJECTS];
    struct pollfd fds[MAXIMUM_WAIT_OBJECTS];
    for (DWORD i = 0; i < count; ++i) {
        events[i] = event_from(handles[i]);
        if (!events[i]) {
            while (i--)
                event_unref(events[i]);
            return WAIT_FAILED;
        }
        event_ref(events[i]);
        fds[i] = (struct pollfd){ .fd = events[i]->fd, .events = POLLIN };
    }
    uint64_t deadline = ms == INFINITE ? 0 : wt_monotonic_ns() + (uint64_t)ms * 1000000ULL;
    DWORD result = WAIT_TIMEOUT;
    for (;;) {
        int timeout = -1;
        if (ms != INFINITE) {
            uint64_t now = wt_monotonic_ns();
            timeout = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
        }
        int n = poll(fds, count, timeout);
        if (n < 0 && errno != EINTR) {
            SetLastError(wt_win32_from_errno(errno));
            result = WAIT_FAILED;
            break;
        }
        if (n > 0) {
            DWORD i;
            for (i = 0; i < count; ++i) {
                if ((fds[i].revents & POLLIN) && event_consume(events[i]))
                    break;
            }
            if (i < count) {
                result = WAIT_OBJECT_0 + i;
                break;
            }
        }
        if (n == 0 && ms != INFINITE && wt_monotonic_ns() >= deadline)
            break;
    }
    for (DWORD i = 0; i < count; ++i)
        event_unref(events[i]);
    return result;
}

DWORD WintunCompat_WaitForSingleObject(HANDLE h, DWORD ms)
{
    return WintunCompat_WaitForMultipleObjects(1, &h, FALSE, ms);
}
#endif
