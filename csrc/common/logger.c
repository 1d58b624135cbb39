/* SPDX-License-Identifier: MIT */
#include "logger.h"
#include "platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void CALLBACK nop_logger(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    (void)level, (void)timestamp, (void)message;
}

/* One atomic pointer: WintunSetLogger may race with logging threads. */
static WINTUN_LOGGER_CALLBACK logger = nop_logger;

VOID WINAPI WintunSetLogger(WINTUN_LOGGER_CALLBACK new_logger)
{
    if (!new_logger)
        new_logger = nop_logger;
    wt_atomic_store(&logger, new_logger, WT_RELEASE);
}

/* UTF-8 to WCHAR for log text; invalid sequences become U+FFFD. */
static void utf8_to_wide(const char *in, WCHAR *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t n = 0;
    while (*s && n + 1 < size) {
        uint32_t c = *s++;
        int extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0) {
            c = 0xFFFD;
            extra = 0;
        } else if (extra) {
            c &= 0x3Fu >> extra;
        }
        for (int i = 0; i < extra; ++i) {
            if ((*s & 0xC0) != 0x80) {
                c = 0xFFFD;
                break;
            }
            c = (c << 6) | (*s++ & 0x3F);
        }
#ifdef _WIN32
        if (c >= 0x10000) {
            if (n + 2 >= size)
                break;
            c -= 0x10000;
            out[n++] = (WCHAR)(0xD800 + (c >> 10));
            c = 0xDC00 + (c & 0x3FF);
        }
#endif
        out[n++] = (WCHAR)c;
    }
    out[n] = 0;
}

static _Thread_local char last_error_line[WT_LOG_MAX_CHARS];

const char *wt_log_last_error(void) { return last_error_line; }
void wt_log_clear_last(void) { last_error_line[0] = '\0'; }

/* A line on its way to the callback. */
struct line
{
    WINTUN_LOGGER_LEVEL level;
    DWORD64 timestamp;
    char text[WT_LOG_MAX_CHARS];
};

static void deliver(const struct line *line)
{
    WINTUN_LOGGER_CALLBACK cb = wt_atomic_load(&logger, WT_ACQUIRE);
    if (cb == nop_logger)
        return;
    DWORD saved = GetLastError(); /* the callback may call anything */
    WCHAR wide[WT_LOG_MAX_CHARS];
    utf8_to_wide(line->text, wide, WT_LOG_MAX_CHARS);
    cb(line->level, line->timestamp, wide);
    SetLastError(saved);
}

static void deliver_lost(unsigned lost, const char *where)
{
    if (!lost)
        return;
    struct line line = { .level = WINTUN_LOG_WARN, .timestamp = wt_filetime_now() };
    snprintf(line.text, sizeof(line.text), "%u log messages %s were dropped: too many at once", lost, where);
    deliver(&line);
}

/* ---- held lines: an API call delivers its lines when it returns, with no lock held ---- */

#define HELD_MAX 8

/* The depth is touched by every call on the data path: small variables of their own, apart from
 * the lines. (No initial-exec TLS model: a Python extension is dlopen()ed, and glibc refuses
 * static TLS to it.) */
static _Thread_local unsigned held_depth, held_pending;

static _Thread_local struct
{
    unsigned count, lost;
    struct line lines[HELD_MAX];
} held;

void wt_log_hold(void) { ++held_depth; }

void wt_log_unhold(void)
{
    if (--held_depth || !held_pending)
        return;
    held_pending = 0;
    /* Taken out first: the callback's own API calls hold and deliver lines of their own. */
    struct line lines[HELD_MAX];
    unsigned count = held.count, lost = held.lost;
    memcpy(lines, held.lines, count * sizeof(lines[0]));
    held.count = held.lost = 0;
    for (unsigned i = 0; i < count; ++i)
        deliver(&lines[i]);
    deliver_lost(lost, "of one call");
}

/* ---- the dispatcher: driver threads' lines, delivered by a thread that no teardown waits for ---- */

#define QUEUE_MAX 64

static struct
{
    wt_spinlock lock;
    unsigned head, count, lost;
    struct line lines[QUEUE_MAX];
    HANDLE event;
    int state; /* 0 none, 1 starting, 2 running, 3 failed */
} queue;

static void dispatcher_main(void *arg)
{
    (void)arg;
    wt_thread_set_driver(0); /* its callbacks may tear down anything, join any driver thread */
    HANDLE event = queue.event;
    for (;;) {
        WaitForSingleObject(event, INFINITE);
        for (;;) {
            struct line line;
            wt_spinlock_lock(&queue.lock);
            unsigned lost = queue.lost, count = queue.count;
            if (count) {
                line = queue.lines[queue.head];
                queue.head = (queue.head + 1) % QUEUE_MAX;
                queue.count--;
            }
            queue.lost = 0;
            wt_spinlock_unlock(&queue.lock);
            deliver_lost(lost, "of driver threads");
            if (!count)
                break;
            deliver(&line);
        }
    }
}

/* Starts the dispatcher once; whether it runs. */
static int dispatcher_ready(void)
{
    int state = wt_atomic_load(&queue.state, WT_ACQUIRE);
    if (state == 0 && wt_atomic_compare_exchange(&queue.state, &state, 1, 0, WT_ACQ_REL, WT_ACQUIRE)) {
        wt_thread thread;
#ifdef _WIN32
        /* The dispatcher runs this module's code for the process's life: never unloaded under it. */
        HMODULE self;
        GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                           (LPCWSTR)(void *)dispatcher_main, &self);
#endif
        queue.event = CreateEventW(NULL, FALSE, FALSE, NULL);
        state = queue.event && !wt_thread_start(&thread, dispatcher_main, NULL) ? 2 : 3;
        if (state == 2)
            wt_thread_detach(thread);
        wt_atomic_store(&queue.state, state, WT_RELEASE);
    }
    while (state == 1) {
        wt_yield();
        state = wt_atomic_load(&queue.state, WT_ACQUIRE);
    }
    return state == 2;
}

static void dispatch(const struct line *line)
{
    wt_spinlock_lock(&queue.lock);
    if (queue.count < QUEUE_MAX)
        queue.lines[(queue.head + queue.count++) % QUEUE_MAX] = *line;
    else
        queue.lost++;
    wt_spinlock_unlock(&queue.lock);
    SetEvent(queue.event);
}

#ifndef _WIN32
/* A forked child has no dispatcher (threads do not survive fork) and must not signal the
 * parent's event: it starts one of its own when it needs it. */
static void logger_after_fork(void)
{
    queue.lock.held = 0;
    queue.head = queue.count = queue.lost = 0;
    queue.event = NULL;
    queue.state = 0;
}

__attribute__((constructor)) static void logger_init(void) { pthread_atfork(NULL, NULL, logger_after_fork); }
#endif

/* Where a line goes: held for the end of the API call it is part of; to the dispatcher from a
 * driver thread (whose teardown a callback may ask for); else to the callback now. */
static void route(const struct line *line)
{
    if (wt_atomic_load(&logger, WT_ACQUIRE) == nop_logger)
        return;
    if (held_depth) {
        if (held.count < HELD_MAX)
            held.lines[held.count++] = *line;
        else
            held.lost++;
        held_pending = 1;
        return;
    }
    if (wt_thread_is_driver() && dispatcher_ready()) {
        dispatch(line);
        return;
    }
    deliver(line);
}

static void emit(WINTUN_LOGGER_LEVEL level, const char *text)
{
    if (level == WINTUN_LOG_ERR)
        snprintf(last_error_line, sizeof(last_error_line), "%s", text);
    if (wt_atomic_load(&logger, WT_ACQUIRE) == nop_logger)
        return;
    struct line line = { .level = level, .timestamp = wt_filetime_now() };
    snprintf(line.text, sizeof(line.text), "%s", text);
    route(&line);
}

void CALLBACK wt_log_relay(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    DWORD saved = GetLastError();
    struct line line = { .level = level, .timestamp = timestamp };
    if (wt_wide_to_utf8(message, line.text, sizeof(line.text)) < 0)
        snprintf(line.text, sizeof(line.text), "(a message too long or not valid UTF-16)");
    if (level == WINTUN_LOG_ERR)
        snprintf(last_error_line, sizeof(last_error_line), "%s", line.text);
    route(&line);
    SetLastError(saved);
}

/* Formats into buf; on truncation the message ends with "…" as Wintun's does. */
static void format(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);
    if (n >= 0 && (size_t)n >= size) {
        size_t end = size - 4;
        while (end && ((unsigned char)buf[end] & 0xC0) == 0x80)
            --end; /* do not cut a UTF-8 sequence */
        memcpy(buf + end, "\xE2\x80\xA6", 4);
    }
}

static void formatf(char *buf, size_t size, const char *fmt, ...) WT_PRINTF(3, 4);
static void formatf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format(buf, size, fmt, ap);
    va_end(ap);
}

/* Every entry point keeps the caller's last error: the system's message lookup and the callback
 * may both change it. */
void wt_log(WINTUN_LOGGER_LEVEL level, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    char buf[WT_LOG_MAX_CHARS];
    va_list ap;
    va_start(ap, fmt);
    format(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit(level, buf);
    SetLastError(saved);
}

static void log_with_code(DWORD error, const char *detail, const char *fmt, va_list ap)
{
    char prefix[WT_LOG_MAX_CHARS], text[256], buf[WT_LOG_MAX_CHARS];
    format(prefix, sizeof(prefix), fmt, ap);
    wt_error_text(error, text, sizeof(text));
    if (detail && text[0])
        formatf(buf, sizeof(buf), "%s: %s (%s) (Code 0x%08X)", prefix, text, detail, (unsigned)error);
    else if (text[0])
        formatf(buf, sizeof(buf), "%s: %s (Code 0x%08X)", prefix, text, (unsigned)error);
    else
        formatf(buf, sizeof(buf), "%s: Code 0x%08X", prefix, (unsigned)error);
    emit(WINTUN_LOG_ERR, buf);
}

DWORD wt_log_error(DWORD error, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    va_list ap;
    va_start(ap, fmt);
    log_with_code(error, NULL, fmt, ap);
    va_end(ap);
    SetLastError(saved);
    return error;
}

DWORD wt_log_errno(int err, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    char detail[128];
    snprintf(detail, sizeof(detail), "%s, errno %d", strerror(err), err);
    DWORD error = wt_win32_from_errno(err);
    va_list ap;
    va_start(ap, fmt);
    log_with_code(error, detail, fmt, ap);
    va_end(ap);
    SetLastError(saved);
    return error;
}
