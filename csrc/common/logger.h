/* SPDX-License-Identifier: MIT
 *
 * Logging to the WintunSetLogger callback, in Wintun 0.14's format: messages up to 0x400
 * characters (longer ones end in U+2026), FILETIME stamps, error lines ending in
 * ": <system text> (Code 0x%08X)". Logging never changes the caller's last error.
 */
#ifndef WINTUN_LOGGER_H
#define WINTUN_LOGGER_H

#include "wintun.h"

#if defined(__GNUC__)
#define WT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WT_PRINTF(f, a)
#endif

void wt_log(WINTUN_LOGGER_LEVEL level, const char *fmt, ...) WT_PRINTF(2, 3);
/* Logs at ERR with the text of Error and its code; returns Error, so that callers can write
 * `return wt_log_error(ERROR_X, "Failed to ...")`. */
DWORD wt_log_error(DWORD error, const char *fmt, ...) WT_PRINTF(2, 3);
/* As wt_log_error, for a failed POSIX call: carries the errno text and number too. */
DWORD wt_log_errno(int err, const char *fmt, ...) WT_PRINTF(2, 3);

#define WT_LOG_MAX_CHARS 0x400

/* A logger callback for another Wintun implementation (wintun.dll on Windows): its lines go to
 * the WintunSetLogger callback with their own stamps, and its errors become the last ERR line. */
void CALLBACK wt_log_relay(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message);

/* Lines logged between wt_log_hold and the matching wt_log_unhold on this thread are kept and
 * delivered by the outermost wt_log_unhold: every API call holds them (handle references do), so
 * the callback runs with no library lock held and may call any API function. Lines logged on a
 * driver thread (wt_thread_start) go to a dispatcher thread of their own, which no teardown waits
 * for: a callback may close the adapter whose driver thread logged. */
void wt_log_hold(void);
void wt_log_unhold(void);

/* The last ERR line logged on this thread since wt_log_clear_last (UTF-8, "" if none): the
 * explanation a binding puts in its exception. */
const char *wt_log_last_error(void);
void wt_log_clear_last(void);

#endif
