/* SPDX-License-Identifier: MIT
 *
 * Windows: Wintun's own example flow with its console logger, which writes with the CRT
 * (fwprintf to stderr), the library loaded as a DLL with LoadLibraryExW and its functions taken
 * with GetProcAddress, as Wintun's example does. Log lines come from the calling thread and from
 * the driver's threads (through the dispatcher) while the session runs, then from four threads
 * at once (the CRT's stderr lock taken from all of them while the library routes lines). A
 * watchdog fails the program if anything hangs (a hang at the first log line after
 * WintunStartSession was reported).
 *
 *   test_crt_logger.exe            the stand-in DLL (this library, emulated by default)
 *   test_crt_logger.exe native     wintun-portable.dll, whose kernel backend drives the stand-in
 *                                  as its wintun.dll (WINTUN_DLL) and relays that DLL's log lines
 *
 * tests/run_windows_tests.sh runs both with stderr a pipe and with stderr a Wine console.
 */
#define WINTUN_NO_PROTOTYPES
#include "wintun.h"
#include "wintun_ext.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

static WINTUN_CREATE_ADAPTER_FUNC *WintunCreateAdapter;
static WINTUN_CLOSE_ADAPTER_FUNC *WintunCloseAdapter;
static WINTUN_SET_LOGGER_FUNC *WintunSetLogger;
static WINTUN_START_SESSION_FUNC *WintunStartSession;
static WINTUN_END_SESSION_FUNC *WintunEndSession;
static WINTUN_GET_READ_WAIT_EVENT_FUNC *WintunGetReadWaitEvent;
static WINTUN_RECEIVE_PACKET_FUNC *WintunReceivePacket;
static WINTUN_RELEASE_RECEIVE_PACKET_FUNC *WintunReleaseReceivePacket;
static WINTUN_ALLOCATE_SEND_PACKET_FUNC *WintunAllocateSendPacket;
static WINTUN_SEND_PACKET_FUNC *WintunSendPacket;
typedef BOOL(WINAPI INJECT_FUNC)(WINTUN_ADAPTER_HANDLE, const BYTE *, DWORD);
static INJECT_FUNC *WintunEmulatedInjectPacket;
static WINTUN_OPEN_ADAPTER_FUNC *StandinOpenAdapter;
static WINTUN_CLOSE_ADAPTER_FUNC *StandinCloseAdapter;

static volatile LONG lines;

/* Wintun's example's ConsoleLogger, as it is written upstream but for %ls (this file is built
 * with C99 printf semantics, where %s would be a narrow string). */
static void CALLBACK crt_logger(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    SYSTEMTIME t;
    FileTimeToSystemTime((FILETIME *)&timestamp, &t);
    WCHAR marker;
    switch (level) {
    case WINTUN_LOG_INFO:
        marker = L'+';
        break;
    case WINTUN_LOG_WARN:
        marker = L'-';
        break;
    case WINTUN_LOG_ERR:
        marker = L'!';
        break;
    default:
        return;
    }
    fwprintf(stderr, L"%04u-%02u-%02u %02u:%02u:%02u.%04u [%lc] %ls\n", t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute,
             t.wSecond, (unsigned)(t.wMilliseconds * 10 + (timestamp / 1000) % 10), marker, message);
    InterlockedIncrement(&lines);
}

static DWORD WINAPI watchdog(LPVOID arg)
{
    (void)arg;
    Sleep(60000);
    printf("FAIL watchdog: the example flow hung for 60 s\n0 passed, 1 failed\n");
    fflush(stdout);
    ExitProcess(1);
    return 0;
}

/* GetProcAddress's FARPROC to the function's own type, through memcpy (no type punning). */
#define LOAD_AS(module, var, name)                                                                 \
    do {                                                                                           \
        FARPROC proc_ = GetProcAddress(module, name);                                              \
        CHECK(proc_ != NULL);                                                                      \
        memcpy(&var, &proc_, sizeof(proc_));                                                       \
    } while (0)
#define LOAD(module, name) LOAD_AS(module, name, #name)

static void make_ipv4(BYTE *p, DWORD size)
{
    memset(p, 0, size);
    p[0] = 0x45;
    p[2] = (BYTE)(size >> 8);
    p[3] = (BYTE)size;
    p[8] = 64;
    p[9] = 17;
}

/* Wintun's example's Log(): the program's own lines go through the same CRT logger. */
static void log_line(WINTUN_LOGGER_LEVEL level, const WCHAR *text)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    crt_logger(level, ((DWORD64)ft.dwHighDateTime << 32) | ft.dwLowDateTime, text);
}

static HANDLE quit;
static WINTUN_SESSION_HANDLE example_session;
static volatile LONG received, sent;

/* The example's two threads: one receives (waiting on the read event and the quit event), one
 * sends a packet every 20 ms; both log with the CRT. */
static DWORD WINAPI receive_thread(LPVOID arg)
{
    (void)arg;
    HANDLE events[2] = { WintunGetReadWaitEvent(example_session), quit };
    for (;;) {
        DWORD size;
        BYTE *p = WintunReceivePacket(example_session, &size);
        if (p) {
            WintunReleaseReceivePacket(example_session, p);
            InterlockedIncrement(&received);
            log_line(WINTUN_LOG_INFO, L"Received a packet");
        } else if (GetLastError() == ERROR_NO_MORE_ITEMS) {
            if (WaitForMultipleObjects(2, events, FALSE, INFINITE) != WAIT_OBJECT_0)
                return 0;
        } else {
            log_line(WINTUN_LOG_ERR, L"Packet read failed");
            return 0;
        }
    }
}

static DWORD WINAPI send_thread(LPVOID arg)
{
    (void)arg;
    while (WaitForSingleObject(quit, 20) == WAIT_TIMEOUT) {
        BYTE *out = WintunAllocateSendPacket(example_session, 64);
        if (!out)
            continue;
        make_ipv4(out, 64);
        WintunSendPacket(example_session, out);
        InterlockedIncrement(&sent);
        log_line(WINTUN_LOG_INFO, L"Sent a packet");
    }
    return 0;
}

static BOOL WINAPI ctrl_handler(DWORD type)
{
    (void)type;
    log_line(WINTUN_LOG_INFO, L"Cleaning up and shutting down...");
    SetEvent(quit);
    return TRUE;
}

/* Four of these at once: each call is refused with an ERR line from the calling thread, and
 * each non-IP packet sent makes the driver's thread log (a WARN line a second, through the
 * dispatcher). */
static DWORD WINAPI flood_thread(LPVOID arg)
{
    (void)arg;
    for (int i = 0; i < 100; ++i) {
        SetLastError(ERROR_SUCCESS);
        if (WintunAllocateSendPacket(example_session, 0x10000) || GetLastError() != ERROR_INVALID_PARAMETER)
            return 1;
        BYTE *out = WintunAllocateSendPacket(example_session, 20);
        if (out) {
            memset(out, 0, 20); /* version 0: not IP */
            WintunSendPacket(example_session, out);
        }
    }
    return 0;
}

static HMODULE dll, standin;
static WINTUN_ADAPTER_HANDLE inner; /* native: the stand-in's own handle on the adapter */

/* A packet from the OS side, on the adapter's emulated wire. */
static BOOL inject(WINTUN_ADAPTER_HANDLE adapter, const BYTE *packet, DWORD size)
{
    return WintunEmulatedInjectPacket(inner ? inner : adapter, packet, size);
}

/* This program's folder, then name. */
static const WCHAR *in_folder(const WCHAR *name)
{
    static WCHAR path[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
    while (n && path[n - 1] != L'\\')
        --n;
    wcscpy(path + n, name);
    return path;
}

int main(int argc, char **argv)
{
    int native = argc > 1 && !strcmp(argv[1], "native");
    CloseHandle(CreateThread(NULL, 0, watchdog, NULL, 0, NULL));
    if (native) /* the portable library's kernel backend, with the stand-in as its wintun.dll */
        SetEnvironmentVariableW(L"WINTUN_DLL", in_folder(L"wintun-standin.dll"));
    dll = LoadLibraryExW(in_folder(native ? L"wintun-portable.dll" : L"wintun-standin.dll"), NULL,
                         LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32);
    CHECK(dll != NULL);
    if (!dll)
        return test_summary();
    LOAD(dll, WintunCreateAdapter);
    LOAD(dll, WintunCloseAdapter);
    LOAD(dll, WintunSetLogger);
    LOAD(dll, WintunStartSession);
    LOAD(dll, WintunEndSession);
    LOAD(dll, WintunGetReadWaitEvent);
    LOAD(dll, WintunReceivePacket);
    LOAD(dll, WintunReleaseReceivePacket);
    LOAD(dll, WintunAllocateSendPacket);
    LOAD(dll, WintunSendPacket);
    WintunSetLogger(crt_logger);
    log_line(WINTUN_LOG_INFO, L"Wintun library loaded");
    GUID guid = { 0xdeadbabe, 0xcafe, 0xbeef, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
    WINTUN_ADAPTER_HANDLE adapter = WintunCreateAdapter(L"Demo", L"Example", &guid);
    CHECK(adapter != NULL);
    if (!adapter)
        return test_summary();
    standin = native ? GetModuleHandleW(L"wintun-standin.dll") : dll; /* loaded by the adapter's creation */
    CHECK(standin != NULL);
    if (!standin)
        return test_summary();
    LOAD(standin, WintunEmulatedInjectPacket);
    if (native) {
        LOAD_AS(standin, StandinOpenAdapter, "WintunOpenAdapter");
        LOAD_AS(standin, StandinCloseAdapter, "WintunCloseAdapter");
        inner = StandinOpenAdapter ? StandinOpenAdapter(L"Demo") : NULL;
        CHECK(inner != NULL);
    }
    WINTUN_SESSION_HANDLE session = WintunStartSession(adapter, 0x400000);
    CHECK(session != NULL);
    if (!session)
        return test_summary();
    /* The first log line after the session started: a second session is refused. */
    CHECK(WintunStartSession(adapter, 0x400000) == NULL && GetLastError() == ERROR_ALREADY_INITIALIZED);
    BYTE pkt[64];
    for (int i = 0; i < 10; ++i) {
        make_ipv4(pkt, 64);
        CHECK(inject(adapter, pkt, 64));
        DWORD size;
        BYTE *p = NULL;
        for (int tries = 0; !p && tries < 100; ++tries) {
            p = WintunReceivePacket(session, &size);
            if (!p)
                WaitForSingleObject(WintunGetReadWaitEvent(session), 50);
        }
        CHECK(p != NULL && size == 64);
        if (p)
            WintunReleaseReceivePacket(session, p);
        BYTE *out = WintunAllocateSendPacket(session, 64);
        CHECK(out != NULL);
        if (out) {
            make_ipv4(out, 64);
            WintunSendPacket(session, out);
        }
    }
    /* The example's own flow from here: threads, lines from each, the OS side answering. */
    example_session = session;
    quit = CreateEventW(NULL, TRUE, FALSE, NULL);
    CHECK(SetConsoleCtrlHandler(ctrl_handler, TRUE));
    log_line(WINTUN_LOG_INFO, L"Launching threads and mangling packets");
    HANDLE threads[2] = { CreateThread(NULL, 0, receive_thread, NULL, 0, NULL),
                          CreateThread(NULL, 0, send_thread, NULL, 0, NULL) };
    for (int i = 0; i < 10; ++i) {
        Sleep(20);
        make_ipv4(pkt, 64);
        inject(adapter, pkt, 64);
    }
    /* Lines from every thread at once, the example's two still running. */
    LONG before = lines;
    HANDLE flood[4];
    for (int i = 0; i < 4; ++i)
        flood[i] = CreateThread(NULL, 0, flood_thread, NULL, 0, NULL);
    CHECK(WaitForMultipleObjects(4, flood, TRUE, INFINITE) == WAIT_OBJECT_0);
    for (int i = 0; i < 4; ++i) {
        DWORD rc = 1;
        GetExitCodeThread(flood[i], &rc);
        CHECK(rc == 0);
        CloseHandle(flood[i]);
    }
    CHECK(lines - before >= 400); /* the refusals' own lines: none is dropped on the calling thread */
    Sleep(100);
    SetEvent(quit);
    WaitForMultipleObjectsEx(2, threads, TRUE, INFINITE, TRUE); /* as the example waits: all, alertable */
    CloseHandle(threads[0]);
    CloseHandle(threads[1]);
    SetConsoleCtrlHandler(ctrl_handler, FALSE);
    CloseHandle(quit);
    CHECK(received >= 10 && sent >= 5);
    log_line(WINTUN_LOG_INFO, L"Cleaning up and shutting down...");
    WintunEndSession(session);
    if (inner)
        StandinCloseAdapter(inner);
    WintunCloseAdapter(adapter);
    CHECK(lines >= 400 + 3); /* created, refused, removed */
    WintunSetLogger(NULL);
    FreeLibrary(dll);
    printf("%s, stderr %s\n", native ? "wintun-portable.dll over the stand-in" : "the stand-in",
           GetFileType(GetStdHandle(STD_ERROR_HANDLE)) == FILE_TYPE_CHAR ? "a console" : "not a console");
    return test_summary();
}
