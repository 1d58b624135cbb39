/* SPDX-License-Identifier: MIT
 *
 * Windows implementation of platform.h (events and the last error are Win32's own).
 */
#ifdef _WIN32
#include "platform.h"

#include <bcrypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void wt_mutex_init(wt_mutex *m) { InitializeSRWLock(m); }
void wt_mutex_destroy(wt_mutex *m) { (void)m; }
void wt_mutex_lock(wt_mutex *m) { AcquireSRWLockExclusive(m); }
void wt_mutex_unlock(wt_mutex *m) { ReleaseSRWLockExclusive(m); }

struct thread_start
{
    void (*fn)(void *);
    void *arg;
};

static _Thread_local int driver_thread;

int wt_thread_is_driver(void) { return driver_thread; }
void wt_thread_set_driver(int driver) { driver_thread = driver; }
unsigned wt_process_generation(void) { return 0; }

static DWORD WINAPI thread_main(LPVOID p)
{
    struct thread_start start = *(struct thread_start *)p;
    free(p);
    driver_thread = 1;
    start.fn(start.arg);
    return 0;
}

DWORD wt_thread_start(wt_thread *t, void (*fn)(void *), void *arg)
{
    struct thread_start *start = malloc(sizeof(*start));
    if (!start)
        return ERROR_NOT_ENOUGH_MEMORY;
    start->fn = fn;
    start->arg = arg;
    *t = CreateThread(NULL, 0, thread_main, start, 0, NULL);
    if (!*t) {
        DWORD err = GetLastError();
        free(start);
        return err;
    }
    return ERROR_SUCCESS;
}

void wt_thread_join(wt_thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}

void wt_thread_detach(wt_thread t) { CloseHandle(t); }

void wt_yield(void) { SwitchToThread(); }
void wt_sleep_us(uint32_t us) { Sleep((us + 999) / 1000); }

uint64_t wt_filetime_now(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

uint64_t wt_monotonic_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (uint64_t)((double)now.QuadPart * 1e9 / (double)freq.QuadPart);
}

DWORD wt_random_bytes(void *buf, size_t size)
{
    NTSTATUS status = BCryptGenRandom(NULL, buf, (ULONG)size, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    return status == 0 ? ERROR_SUCCESS : ERROR_GEN_FAILURE;
}

void *wt_ring_alloc(size_t size)
{
    return VirtualAlloc(NULL, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
}

void wt_ring_free(void *p, size_t size)
{
    (void)size;
    if (p)
        VirtualFree(p, 0, MEM_RELEASE);
}

void wt_event_wake_all(HANDLE event) { SetEvent(event); }

HANDLE wt_event_reference(HANDLE event)
{
    HANDLE copy;
    if (!event || !DuplicateHandle(GetCurrentProcess(), event, GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    return copy;
}

void wt_event_dereference(HANDLE reference)
{
    if (reference)
        CloseHandle(reference);
}

BOOL wt_event_close(HANDLE event) { return CloseHandle(event); }

DWORD wt_memory_writable(const void *p, size_t size)
{
    const DWORD writable = PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;
    uintptr_t cursor = (uintptr_t)p, end = cursor + size;
    if (end < cursor)
        return ERROR_INVALID_USER_BUFFER;
    while (cursor < end) {
        MEMORY_BASIC_INFORMATION info;
        if (!VirtualQuery((const void *)cursor, &info, sizeof(info)) || info.State != MEM_COMMIT ||
            !(info.Protect & writable) || (info.Protect & PAGE_GUARD))
            return ERROR_INVALID_USER_BUFFER;
        cursor = (uintptr_t)info.BaseAddress + info.RegionSize;
    }
    return ERROR_SUCCESS;
}

void wt_error_text(DWORD code, char *buf, size_t size)
{
    if (!size)
        return;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_MAX_WIDTH_MASK,
                             NULL, code, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf, (DWORD)size, NULL);
    while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        --n;
    buf[n < size ? n : size - 1] = '\0';
}

int wt_wide_to_utf8(const WCHAR *in, char *out, size_t size)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, -1, out, (int)size, NULL, NULL);
    return n > 0 ? n - 1 : -1;
}

char *wt_wide_to_utf8_dup(const WCHAR *in)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *out = malloc((size_t)n);
    if (out && WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, -1, out, n, NULL, NULL) <= 0) {
        free(out);
        return NULL;
    }
    return out;
}

size_t wt_wide_len(const WCHAR *s) { return wcslen(s); }
int wt_wide_casecmp(const WCHAR *a, const WCHAR *b) { return _wcsicmp(a, b); }
WCHAR *wt_wide_dup(const WCHAR *s) { return _wcsdup(s); }
#endif
