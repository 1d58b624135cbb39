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
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVENT_MAGIC 0x57544556u /* "WTEV" */

struct wt_event
{
    uint32_t magic; /* EVENT_MAGIC while open (atomic: a stale handle reads it) */
    int fd;
    int manual_reset;
    int woken_for_good;
    int refs;   /* the handle's and each waiter's; 0: closed (atomic) */
    int closed; /* CloseHandle ran (atomic: only one of two racing closes counts) */
    unsigned generation; /* wt_process_generation() at creation */
    struct wt_event *next_free;
};

static _Thread_local DWORD last_error;

DWORD WintunCompat_GetLastError(void) { return last_error; }
void WintunCompat_SetLastError(DWORD error) { last_error = error; }

/* Closed events are kept, oldest reused first once more than EVENT_QUARANTINE wait: the memory
 * of an event is never freed, so a handle used after CloseHandle (a thread that fetched it just
 * before its session ended) reads a dead magic and gets ERROR_INVALID_HANDLE, never freed
 * memory; only after that many newer closes may it name a new event, as Win32 handle values are
 * reused. */
#define EVENT_QUARANTINE 256
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wt_event *pool_head, *pool_tail;
static unsigned pool_count;

static void pool_after_fork(void) { pthread_mutex_init(&pool_lock, NULL); }
__attribute__((constructor)) static void pool_init(void) { pthread_atfork(NULL, NULL, pool_after_fork); }

/* An event inherited across fork() shares its eventfd with the parent: signalling or draining it
 * in the child would act on the parent's event, so the child gets ERROR_INVALID_HANDLE. */
static struct wt_event *event_from(HANDLE h)
{
    struct wt_event *e = h;
    /* An event is an allocation: aligned. Other handles (a device's, handle.h) have low bits set
     * and are refused without being read. */
    if (!e || ((uintptr_t)e & (_Alignof(struct wt_event) - 1)) || wt_atomic_load(&e->magic, WT_ACQUIRE) != EVENT_MAGIC || e->generation != wt_process_generation()) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    return e;
}

/* A reference unless the event is closed already; with it, e->fd stays open. */
static int event_try_ref(struct wt_event *e)
{
    int refs = wt_atomic_load(&e->refs, WT_RELAXED);
    do
        if (refs <= 0)
            return 0;
    while (!wt_atomic_compare_exchange(&e->refs, &refs, refs + 1, 1, WT_ACQUIRE, WT_RELAXED));
    return 1;
}

/* The event behind h, referenced, or NULL with ERROR_INVALID_HANDLE. */
static struct wt_event *event_acquire(HANDLE h)
{
    struct wt_event *e = event_from(h);
    if (e && !event_try_ref(e)) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    return e;
}

static void event_unref(struct wt_event *e)
{
    if (wt_atomic_sub_fetch(&e->refs, 1, WT_ACQ_REL))
        return;
    wt_atomic_store(&e->magic, 0, WT_RELEASE);
    close(e->fd);
    wt_atomic_store(&e->fd, -1, WT_RELAXED);
    e->next_free = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_tail)
        pool_tail->next_free = e;
    else
        pool_head = e;
    pool_tail = e;
    ++pool_count;
    pthread_mutex_unlock(&pool_lock);
}

static struct wt_event *event_alloc(void)
{
    struct wt_event *e = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_count > EVENT_QUARANTINE) {
        e = pool_head;
        pool_head = e->next_free;
        if (!pool_head)
            pool_tail = NULL;
        --pool_count;
    }
    pthread_mutex_unlock(&pool_lock);
    return e ? e : calloc(1, sizeof(*e));
}

HANDLE WintunCompat_CreateEventW(void *attributes, BOOL manual_reset, BOOL initial_state, LPCWSTR name)
{
    if (attributes || name) {
        SetLastError(ERROR_NOT_SUPPORTED);
        return NULL;
    }
    int fd = eventfd(initial_state ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        SetLastError(wt_win32_from_errno(errno));
        return NULL;
    }
    struct wt_event *e = event_alloc();
    if (!e) {
        close(fd);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    e->fd = fd;
    e->manual_reset = !!manual_reset;
    wt_atomic_store(&e->woken_for_good, 0, WT_RELAXED);
    wt_atomic_store(&e->closed, 0, WT_RELAXED);
    wt_atomic_store(&e->refs, 1, WT_RELAXED);
    e->generation = wt_process_generation();
    wt_atomic_store(&e->magic, EVENT_MAGIC, WT_RELEASE);
    return e;
}

BOOL WintunCompat_SetEvent(HANDLE h)
{
    struct wt_event *e = event_acquire(h);
    if (!e)
        return FALSE;
    uint64_t one = 1;
    BOOL ok = TRUE;
    /* EAGAIN means the counter is saturated: already signalled. */
    if (write(e->fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        SetLastError(wt_win32_from_errno(errno));
        ok = FALSE;
    }
    event_unref(e);
    return ok;
}

static void event_drain(struct wt_event *e)
{
    uint64_t v;
    while (read(e->fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

BOOL WintunCompat_ResetEvent(HANDLE h)
{
    struct wt_event *e = event_acquire(h);
    if (!e)
        return FALSE;
    if (!wt_atomic_load(&e->woken_for_good, WT_ACQUIRE))
        event_drain(e);
    event_unref(e);
    return TRUE;
}

BOOL wt_event_close(HANDLE h)
{
    struct wt_event *e = event_from(h);
    int open = 0;
    if (!e || !wt_atomic_compare_exchange(&e->closed, &open, 1, 0, WT_ACQ_REL, WT_RELAXED)) {
        SetLastError(ERROR_INVALID_HANDLE); /* closed already, perhaps by another thread just now */
        return FALSE;
    }
    event_unref(e);
    return TRUE;
}

int WintunGetEventFd(HANDLE h)
{
    struct wt_event *e = event_from(h);
    return e ? wt_atomic_load(&e->fd, WT_RELAXED) : -1;
}

HANDLE wt_event_reference(HANDLE h) { return event_acquire(h) ? h : NULL; }

void wt_event_dereference(HANDLE h)
{
    if (h)
        event_unref(h); /* our reference keeps the event, its magic included */
}

void wt_event_wake_all(HANDLE h)
{
    struct wt_event *e = event_acquire(h);
    if (!e)
        return;
    wt_atomic_store(&e->woken_for_good, 1, WT_RELEASE);
    SetEvent(h);
    event_unref(e);
}

/* Takes the signal of an auto-reset event; 0 if another waiter took it first. */
static int event_consume(struct wt_event *e)
{
    if (e->manual_reset || wt_atomic_load(&e->woken_for_good, WT_ACQUIRE))
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
        events[i] = event_acquire(handles[i]);
        if (!events[i]) {
            while (i--)
                event_unref(events[i]);
            return WAIT_FAILED;
        }
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
