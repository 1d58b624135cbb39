/* SPDX-License-Identifier: MIT
 *
 * The logger: levels, FILETIME stamps, Wintun's error-line format, truncation, threads.
 */
#include "helpers.h"
#include "logger.h"

#include <pthread.h>
#include <time.h>
#include <string.h>
#include <wchar.h>

static pthread_mutex_t lines_lock = PTHREAD_MUTEX_INITIALIZER;
static int line_count;
static WINTUN_LOGGER_LEVEL last_level;
static DWORD64 last_timestamp;
static WCHAR last_message[WT_LOG_MAX_CHARS];

static void CALLBACK collect(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    pthread_mutex_lock(&lines_lock);
    ++line_count;
    last_level = level;
    last_timestamp = timestamp;
    wcsncpy(last_message, message, WT_LOG_MAX_CHARS - 1);
    SetLastError(999); /* a callback that clobbers the last error */
    pthread_mutex_unlock(&lines_lock);
}

static DWORD64 filetime_now(void)
{
    return (DWORD64)(time(NULL) + 11644473600LL) * 10000000ULL;
}

static void test_levels_and_timestamps(void)
{
    CHECK(WINTUN_LOG_INFO == 0 && WINTUN_LOG_WARN == 1 && WINTUN_LOG_ERR == 2);
    WintunSetLogger(collect);
    wt_log(WINTUN_LOG_WARN, "hello %d", 42);
    CHECK(line_count == 1 && last_level == WINTUN_LOG_WARN && !wcscmp(last_message, L"hello 42"));
    DWORD64 now = filetime_now();
    CHECK(last_timestamp + 20000000ULL > now && last_timestamp < now + 20000000ULL); /* within 2 s */
    WintunSetLogger(NULL);
    wt_log(WINTUN_LOG_INFO, "dropped");
    CHECK(line_count == 1);
}

static void test_error_format(void)
{
    WintunSetLogger(collect);
    SetLastError(1234);
    CHECK(wt_log_error(ERROR_NOT_FOUND, "Failed to find matching adapter name") == ERROR_NOT_FOUND);
    CHECK(GetLastError() == 1234); /* logging preserves the last error */
    CHECK(last_level == WINTUN_LOG_ERR);
    /* The system's own text for the code: Windows, Wine and Linux word some differently. */
    char text[256], expected[512];
    WCHAR wide[512];
    wt_error_text(ERROR_NOT_FOUND, text, sizeof(text));
    snprintf(expected, sizeof(expected), "Failed to find matching adapter name: %s (Code 0x00000490)", text);
    CHECK(swprintf(wide, 512, L"%hs", expected) > 0 && !wcscmp(last_message, wide));
    wt_log_errno(13, "Failed to open /dev/net/tun");
    wt_error_text(ERROR_ACCESS_DENIED, text, sizeof(text));
    snprintf(expected, sizeof(expected), "Failed to open /dev/net/tun: %s (%s, errno 13) (Code 0x00000005)", text,
             strerror(13));
    CHECK(swprintf(wide, 512, L"%hs", expected) > 0 && !wcscmp(last_message, wide));
    wt_log_error(0x12345678, "Odd");
    CHECK(!wcscmp(last_message, L"Odd: Code 0x12345678"));
    /* Through the API: a failing call logs at ERR with the code. */
    WintunOpenAdapter(L"no-such-adapter");
    CHECK(GetLastError() == ERROR_NOT_FOUND && wcsstr(last_message, L"(Code 0x00000490)"));
    WintunSetLogger(NULL);
}

static void test_truncation(void)
{
    WintunSetLogger(collect);
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    wt_log(WINTUN_LOG_INFO, "%s", big);
    size_t len = wcslen(last_message);
    CHECK(len == WT_LOG_MAX_CHARS - 3);
    CHECK(last_message[len - 1] == 0x2026);
    /* UTF-8 arrives as wide characters. */
    wt_log(WINTUN_LOG_INFO, "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80");
    CHECK(!wcscmp(last_message, L"caf\u00E9 \u4E2D \U0001F600"));
    WintunSetLogger(NULL);
}

static void *log_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; ++i)
        wt_log(WINTUN_LOG_INFO, "thread line %d", i);
    return NULL;
}

static void *flip_logger(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; ++i)
        WintunSetLogger(i & 1 ? NULL : collect);
    WintunSetLogger(collect);
    return NULL;
}

static void test_threads(void)
{
    line_count = 0;
    WintunSetLogger(collect);
    pthread_t t[4];
    for (int i = 0; i < 4; ++i)
        pthread_create(&t[i], NULL, log_many, NULL);
    for (int i = 0; i < 4; ++i)
        pthread_join(t[i], NULL);
    CHECK(line_count == 8000);
    pthread_create(&t[0], NULL, flip_logger, NULL);
    pthread_create(&t[1], NULL, log_many, NULL);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    CHECK(line_count > 8000);
    WintunSetLogger(NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_levels_and_timestamps);
    RUN(test_error_format);
    RUN(test_truncation);
    RUN(test_threads);
    return test_summary();
}
