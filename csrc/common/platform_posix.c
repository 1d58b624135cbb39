/* SPDX-License-Identifier: MIT
 *
 * POSIX/Linux implementation of platform.h.
 */
#ifndef _WIN32
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "platform.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <wctype.h>

void wt_mutex_init(wt_mutex *m)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    /* Spin a little before sleeping, as Wintun's critical sections (spin count 0x10000) do. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
}

void wt_mutex_destroy(wt_mutex *m) { pthread_mutex_destroy(m); }
void wt_mutex_lock(wt_mutex *m) { pthread_mutex_lock(m); }
void wt_mutex_unlock(wt_mutex *m) { pthread_mutex_unlock(m); }

struct thread_start
{
    void (*fn)(void *);
    void *arg;
};

static _Thread_local int driver_thread;
static unsigned process_generation;

int wt_thread_is_driver(void) { return driver_thread; }
void wt_thread_set_driver(int driver) { driver_thread = driver; }
unsigned wt_process_generation(void) { return wt_atomic_load(&process_generation, WT_RELAXED); }

static void after_fork(void) { ++process_generation; }
__attribute__((constructor)) static void platform_init(void) { pthread_atfork(NULL, NULL, after_fork); }

static void *thread_main(void *p)
{
    struct thread_start start = *(struct thread_start *)p;
    free(p);
    driver_thread = 1;
    start.fn(start.arg);
    return NULL;
}

DWORD wt_thread_start(wt_thread *t, void (*fn)(void *), void *arg)
{
    struct thread_start *start = malloc(sizeof(*start));
    if (!start)
        return ERROR_NOT_ENOUGH_MEMORY;
    start->fn = fn;
    start->arg = arg;
    int err = pthread_create(t, NULL, thread_main, start);
    if (err) {
        free(start);
        /* EAGAIN: out of threads (RLIMIT_NPROC, threads-max) or of memory for a stack. */
        return err == EAGAIN ? ERROR_MAX_THRDS_REACHED : wt_win32_from_errno(err);
    }
    return ERROR_SUCCESS;
}

void wt_thread_join(wt_thread t) { pthread_join(t, NULL); }
void wt_thread_detach(wt_thread t) { pthread_detach(t); }
void wt_yield(void) { sched_yield(); }

void wt_sleep_us(uint32_t us)
{
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

uint64_t wt_filetime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* 11644473600 s between 1601-01-01 and 1970-01-01. */
    return ((uint64_t)ts.tv_sec + 11644473600ULL) * 10000000ULL + (uint64_t)ts.tv_nsec / 100;
}

uint64_t wt_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Walks /proc/self/maps (sorted by address): the range must be covered, without a gap, by
 * mappings that are writable. Only at registration: a few hundred lines. Without /proc (a bare
 * chroot) there is nothing to ask: the range is taken on trust, as before this check. */
DWORD wt_memory_writable(const void *p, size_t size)
{
    uintptr_t cursor = (uintptr_t)p, end = cursor + size;
    if (end < cursor)
        return ERROR_INVALID_USER_BUFFER;
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps)
        return ERROR_SUCCESS;
    char line[512];
    DWORD err = ERROR_INVALID_USER_BUFFER;
    while (cursor < end && fgets(line, sizeof(line), maps)) {
        unsigned long long start, stop;
        char perms[5];
        const int whole = strchr(line, '\n') != NULL;
        if (sscanf(line, "%llx-%llx %4s", &start, &stop, perms) != 3)
            break;
        while (!whole && fgets(line, sizeof(line), maps) && !strchr(line, '\n'))
            ; /* the rest of a long path */
        if (stop <= cursor)
            continue;
        if (start > cursor || perms[1] != 'w')
            break;
        cursor = (uintptr_t)stop;
    }
    if (cursor >= end)
        err = ERROR_SUCCESS;
    fclose(maps);
    return err;
}

DWORD wt_random_bytes(void *buf, size_t size)
{
    uint8_t *p = buf;
    while (size) {
        ssize_t n = getrandom(p, size, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wt_win32_from_errno(errno);
        }
        p += n;
        size -= (size_t)n;
    }
    return ERROR_SUCCESS;
}

void *wt_ring_alloc(size_t size)
{
    /* Populated up front, as Wintun's driver locks the ring's pages at registration: no page
     * fault on the data path. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        SetLastError(wt_win32_from_errno(errno));
        return NULL;
    }
    return p;
}

void wt_ring_free(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

/* FormatMessage's English text for the codes this library reports. */
static const struct
{
    DWORD code;
    const char *text;
} error_texts[] = {
    { ERROR_SUCCESS, "The operation completed successfully." },
    { ERROR_INVALID_FUNCTION, "Incorrect function." },
    { ERROR_FILE_NOT_FOUND, "The system cannot find the file specified." },
    { ERROR_PATH_NOT_FOUND, "The system cannot find the path specified." },
    { ERROR_TOO_MANY_OPEN_FILES, "Too many open files: no file descriptor is left." }, /* Windows: "The system cannot open the file." */
    { ERROR_ACCESS_DENIED, "Access is denied." },
    { ERROR_INVALID_HANDLE, "The handle is invalid." },
    { ERROR_NOT_ENOUGH_MEMORY, "Not enough memory resources are available to process this command." },
    { ERROR_INVALID_DATA, "The data is invalid." },
    { ERROR_OUTOFMEMORY, "Not enough memory resources are available to complete this operation." },
    { ERROR_NOT_READY, "The device is not ready." },
    { ERROR_SHARING_VIOLATION, "The process cannot access the file because it is being used by another process." },
    { ERROR_GEN_FAILURE, "A device attached to the system is not functioning." },
    { ERROR_HANDLE_EOF, "Reached the end of the file." },
    { ERROR_NOT_SUPPORTED, "The request is not supported." },
    { ERROR_DEV_NOT_EXIST, "The specified network resource or device is no longer available." },
    { ERROR_FILE_EXISTS, "The file exists." },
    { ERROR_INVALID_PARAMETER, "The parameter is incorrect." },
    { ERROR_BUFFER_OVERFLOW, "The file name is too long." },
    { ERROR_INSUFFICIENT_BUFFER, "The data area passed to a system call is too small." },
    { ERROR_INVALID_NAME, "The filename, directory name, or volume label syntax is incorrect." },
    { ERROR_MAX_THRDS_REACHED, "No more threads can be created in the system (a limit on threads or on memory for their stacks)." },
    { ERROR_BUSY, "The requested resource is in use." },
    { ERROR_ALREADY_EXISTS, "Cannot create a file when that file already exists." },
    { ERROR_NO_MORE_ITEMS, "No more data is available." },
    { ERROR_VERSION_PARSE_ERROR, "Failed to parse the version." },
    { ERROR_NOT_FOUND, "Element not found." },
    { ERROR_NOACCESS, "Invalid access to memory location." },
    { ERROR_INVALID_USER_BUFFER, "The supplied user buffer is not valid for the requested operation." },
    { ERROR_NETWORK_UNREACHABLE, "The network location cannot be reached." },
    { ERROR_ALREADY_INITIALIZED, "An attempt was made to perform an initialization operation when initialization has already been completed." },
    { ERROR_PRIVILEGE_NOT_HELD, "A required privilege is not held by the client." },
    { ERROR_TIMEOUT, "This operation returned because the timeout period expired." },
    { ERROR_NOT_ENOUGH_QUOTA, "Not enough quota is available to process this command." },
    { ERROR_DEVICE_NOT_AVAILABLE, "The device is not ready for use." },
    { ERROR_OBJECT_ALREADY_EXISTS, "The object already exists." },
    { ERROR_INF_IN_USE_BY_DEVICES, "The INF is in use by devices." },
};

void wt_error_text(DWORD code, char *buf, size_t size)
{
    if (!size)
        return;
    for (size_t i = 0; i < sizeof(error_texts) / sizeof(error_texts[0]); ++i) {
        if (error_texts[i].code == code) {
            snprintf(buf, size, "%s", error_texts[i].text);
            return;
        }
    }
    buf[0] = '\0';
}

/* WCHAR is UTF-32 here. */
int wt_wide_to_utf8(const WCHAR *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in; ++in) {
        uint32_t c = (uint32_t)*in;
        char tmp[4];
        size_t len;
        if (c < 0x80) {
            tmp[0] = (char)c;
            len = 1;
        } else if (c < 0x800) {
            tmp[0] = (char)(0xC0 | (c >> 6));
            tmp[1] = (char)(0x80 | (c & 0x3F));
            len = 2;
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF)
                return -1;
            tmp[0] = (char)(0xE0 | (c >> 12));
            tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[2] = (char)(0x80 | (c & 0x3F));
            len = 3;
        } else if (c <= 0x10FFFF) {
            tmp[0] = (char)(0xF0 | (c >> 18));
            tmp[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            tmp[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[3] = (char)(0x80 | (c & 0x3F));
            len = 4;
        } else {
            return -1;
        }
        if (n + len + 1 > size)
            return -1;
        memcpy(out + n, tmp, len);
        n += len;
    }
    if (n + 1 > size)
        return -1;
    out[n] = '\0';
    return (int)n;
}

char *wt_wide_to_utf8_dup(const WCHAR *in)
{
    size_t size = wt_wide_len(in) * 4 + 1;
    char *out = malloc(size);
    if (!out)
        return NULL;
    if (wt_wide_to_utf8(in, out, size) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

size_t wt_wide_len(const WCHAR *s) { return wcslen(s); }

int wt_wide_casecmp(const WCHAR *a, const WCHAR *b)
{
    for (;; ++a, ++b) {
        wint_t ca = towlower((wint_t)*a), cb = towlower((wint_t)*b);
        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (!ca)
            return 0;
    }
}

WCHAR *wt_wide_dup(const WCHAR *s)
{
    size_t len = wcslen(s);
    WCHAR *out = malloc((len + 1) * sizeof(WCHAR));
    if (out)
        memcpy(out, s, (len + 1) * sizeof(WCHAR));
    return out;
}
#endif
