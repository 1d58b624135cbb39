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
    __atomic_store_n(&logger, new_logger, __ATOMIC_RELEASE);
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

static void emit(WINTUN_LOGGER_LEVEL level, const char *text)
{
    if (level == WINTUN_LOG_ERR)
        snprintf(last_error_line, sizeof(last_error_line), "%s", text);
    WINTUN_LOGGER_CALLBACK cb = __atomic_load_n(&logger, __ATOMIC_ACQUIRE);
    if (cb == nop_logger)
        return;
    WCHAR wide[WT_LOG_MAX_CHARS];
    utf8_to_wide(text, wide, WT_LOG_MAX_CHARS);
    cb(level, wt_filetime_now(), wide);
}

void CALLBACK wt_log_relay(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    DWORD saved = GetLastError();
    if (level == WINTUN_LOG_ERR && wt_wide_to_utf8(message, last_error_line, sizeof(last_error_line)) < 0)
        snprintf(last_error_line, sizeof(last_error_line), "(a message too long or not valid UTF-16)");
    WINTUN_LOGGER_CALLBACK cb = __atomic_load_n(&logger, __ATOMIC_ACQUIRE);
    if (cb != nop_logger)
        cb(level, timestamp, message);
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
