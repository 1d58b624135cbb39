/* SPDX-License-Identifier: MIT
 *
 * Helpers of the Windows-only tests (test_loader, test_native): a logger callback that keeps the
 * lines and their stamps, and paths next to the test program (where the DLLs under test are).
 * Include after wintun.h.
 */
#ifndef WINTUN_TEST_WINDOWS_HELPERS_H
#define WINTUN_TEST_WINDOWS_HELPERS_H

#include <string.h>
#include <wchar.h>
#include <windows.h>

#define LOG_LINES 128

static WCHAR folder[MAX_PATH];
static WCHAR lines[LOG_LINES][512];
static DWORD64 stamps[LOG_LINES];
static volatile LONG line_count;

static void CALLBACK collect(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    (void)level;
    LONG i = InterlockedIncrement(&line_count) - 1;
    if (i < LOG_LINES) {
        wcsncpy(lines[i], message, 511);
        stamps[i] = timestamp;
    }
}

/* The index of the first line containing needle, or -1. */
static LONG find_line(const WCHAR *needle)
{
    for (LONG i = 0; i < line_count && i < LOG_LINES; ++i)
        if (wcsstr(lines[i], needle))
            return i;
    return -1;
}

static DWORD64 filetime_now(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return ((DWORD64)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

/* Call first: the folder of this program. */
static void find_folder(void)
{
    DWORD n = GetModuleFileNameW(NULL, folder, MAX_PATH);
    while (n && folder[n - 1] != L'\\' && folder[n - 1] != L'/')
        --n;
    folder[n] = 0;
}

static WCHAR *in_folder(const WCHAR *file)
{
    static WCHAR path[MAX_PATH * 2];
    wcscpy(path, folder);
    wcscat(path, file);
    return path;
}

#endif
