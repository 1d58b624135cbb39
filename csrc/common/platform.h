/* SPDX-License-Identifier: MIT
 *
 * The portable layer under the library: locks, threads, time, ring memory, error text and string
 * conversion. Events and the last error are Win32's own API on Windows and win32compat.h's on
 * Linux, so the core calls CreateEventW/SetEvent/WaitForMultipleObjects/GetLastError everywhere.
 */
#ifndef WINTUN_PLATFORM_H
#define WINTUN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "atomic.h"

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#else
#include <pthread.h>
#include "win32compat.h"
#endif

#ifdef _WIN32
typedef SRWLOCK wt_mutex;
typedef HANDLE wt_thread;
#define WT_MUTEX_INIT SRWLOCK_INIT
#else
#define WT_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
typedef pthread_mutex_t wt_mutex;
typedef pthread_t wt_thread;
#endif

void wt_mutex_init(wt_mutex *m);
void wt_mutex_destroy(wt_mutex *m);
void wt_mutex_lock(wt_mutex *m);
void wt_mutex_unlock(wt_mutex *m);

/* A lock for the rings' critical sections: a few dozen instructions, rarely contended. Taking it
 * is one atomic exchange, dropping it a release store (a pthread mutex costs two atomics). A
 * waiter spins briefly, then yields its CPU, as Wintun's critical sections spin before sleeping. */
typedef struct
{
    volatile int32_t held;
} wt_spinlock;

void wt_spinlock_wait(wt_spinlock *lock);

/* Every supported compiler has atomic.h's builtins (GCC, Clang, clang-cl; MSVC's cl.exe cannot
 * build the library, setup.py says so). */
static inline void wt_spinlock_lock(wt_spinlock *lock)
{
    if (wt_atomic_exchange(&lock->held, 1, WT_ACQUIRE))
        wt_spinlock_wait(lock);
}

static inline void wt_spinlock_unlock(wt_spinlock *lock) { wt_atomic_store(&lock->held, 0, WT_RELEASE); }

/* Starts fn(arg) on a new thread, a driver thread of the library (wt_thread_is_driver); returns
 * a Win32 error code. */
DWORD wt_thread_start(wt_thread *t, void (*fn)(void *), void *arg);
void wt_thread_join(wt_thread t);
void wt_thread_detach(wt_thread t);
/* Whether the calling thread is one wt_thread_start started (its log lines go to the logger's
 * dispatcher thread, never straight to the callback); wt_thread_set_driver changes that. */
int wt_thread_is_driver(void);
void wt_thread_set_driver(int driver);
/* Counts the fork()s this process descends from (0 on Windows): an object stamped with another
 * generation was inherited from the parent and must not be acted on. */
unsigned wt_process_generation(void);
void wt_yield(void);
/* A spin-wait hint to the CPU (x86 pause, ARM yield). */
static inline void wt_cpu_relax(void)
{
#if defined(_MSC_VER)
    YieldProcessor();
#elif defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
void wt_sleep_us(uint32_t us);

/* 100 ns units since 1601-01-01 UTC, as Windows' FILETIME. */
uint64_t wt_filetime_now(void);
/* Monotonic nanoseconds, for timeouts and spin limits. */
uint64_t wt_monotonic_ns(void);

/* Fills buf with random bytes from the OS; returns a Win32 code. */
DWORD wt_random_bytes(void *buf, size_t size);

/* Page-aligned zeroed memory for rings, committed up front; NULL with the last error set. */
void *wt_ring_alloc(size_t size);
void wt_ring_free(void *p, size_t size);

/* Wakes every thread waiting on the event, now and later, until it is closed: used at teardown
 * so that no reader stays blocked. On Windows it is SetEvent, which wakes one waiter of an
 * auto-reset event (Wintun itself wakes none). */
void wt_event_wake_all(HANDLE event);
/* The driver's own reference on a client's event, as Wintun's ObReferenceObjectByHandle: the
 * handle to use until wt_event_dereference (the same on Linux, a duplicate on Windows), valid
 * after the client closes its own; NULL with ERROR_INVALID_HANDLE if event is no open event. */
HANDLE wt_event_reference(HANDLE event);
void wt_event_dereference(HANDLE reference);
/* Closes an event (CloseHandle's part for events, on Linux). */
BOOL wt_event_close(HANDLE event);

/* Whether [p, p + size) is writable memory of this process now (Wintun's MmProbeAndLockPages
 * for IoWriteAccess): ERROR_SUCCESS or ERROR_INVALID_USER_BUFFER. Where the system cannot tell
 * (Linux without /proc), ERROR_SUCCESS. */
DWORD wt_memory_writable(const void *p, size_t size);

/* Win32 error code for an errno value. */
DWORD wt_win32_from_errno(int err);
/* The system's text for a Win32 error code, without a trailing newline. */
void wt_error_text(DWORD code, char *buf, size_t size);

/* WCHAR -> UTF-8. wt_wide_to_utf8 returns the byte length written (without NUL) or -1 when
 * the buffer is too small or the string is not valid. The _dup form returns a malloc'd string. */
int wt_wide_to_utf8(const WCHAR *in, char *out, size_t size);
char *wt_wide_to_utf8_dup(const WCHAR *in);
size_t wt_wide_len(const WCHAR *s);
int wt_wide_casecmp(const WCHAR *a, const WCHAR *b);
WCHAR *wt_wide_dup(const WCHAR *s);

#endif
