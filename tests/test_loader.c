/* SPDX-License-Identifier: MIT
 *
 * Windows: the wintun.dll loader, end to end against the stand-in DLL (our own session API and
 * emulated driver under another name: a DLL named wintun.dll is never built or shipped). Only
 * the loader is linked into this program: everything else goes through the loaded functions.
 */
#include "loader.h"
#include "platform.h"
#include "test.h"
#include "windows_helpers.h"

/* The loader logs through the library's logger, linked into this program. */
WINTUN_SET_LOGGER_FUNC WintunSetLogger;

static int logged(const WCHAR *needle) { return find_line(needle) >= 0; }

static void test_missing_file_and_default_search(void)
{
    WINTUN_DLL dll;
    WintunSetLogger(collect); /* the loader's own log, this program's logger */
    CHECK(wt_dll_load(&dll, L"Z:\\no\\such\\folder\\wintun.dll", NULL) == ERROR_MOD_NOT_FOUND);
    CHECK(dll.Module == NULL && dll.WintunCreateAdapter == NULL);
    SetEnvironmentVariableW(L"WINTUN_DLL", NULL);
    /* No wintun.dll next to this program or in System32: never built, never shipped here. */
    CHECK(wt_dll_load(&dll, NULL, GetModuleHandleW(NULL)) == ERROR_MOD_NOT_FOUND);
    CHECK(logged(L"searched: the package's folder, the application's folder, System32"));
    /* It names the official zip's DLL this process needs: the x86 one in a 32-bit process. */
    CHECK(logged(sizeof(void *) == 4 ? L"this 32-bit process needs the official zip's bin/x86/wintun.dll"
                                     : L"this 64-bit process needs the official zip's bin/amd64/wintun.dll"));
}

static void test_missing_export(void)
{
    WINTUN_DLL dll;
    line_count = 0;
    CHECK(wt_dll_load(&dll, in_folder(L"wintun-missing.dll"), NULL) == ERROR_PROC_NOT_FOUND);
    CHECK(logged(L"does not export WintunCloseAdapter"));
    CHECK(dll.Module == NULL);
}

static void make_ipv4(BYTE *p, DWORD size, DWORD seq)
{
    memset(p, 0, size);
    p[0] = 0x45, p[2] = (BYTE)(size >> 8), p[3] = (BYTE)size, p[8] = 64, p[9] = 17;
    p[24] = (BYTE)(seq >> 24), p[25] = (BYTE)(seq >> 16), p[26] = (BYTE)(seq >> 8), p[27] = (BYTE)seq;
}

static void test_end_to_end_through_the_standin(void)
{
    WINTUN_DLL dll;
    SetEnvironmentVariableW(L"WINTUN_DLL", in_folder(L"wintun-standin.dll"));
    DWORD err = wt_dll_load(&dll, NULL, NULL);
    SetEnvironmentVariableW(L"WINTUN_DLL", NULL);
    CHECK(err == ERROR_SUCCESS);
    if (err)
        return;
    line_count = 0;
    dll.WintunSetLogger(collect); /* the DLL's logger now */
    CHECK(dll.WintunGetRunningDriverVersion() == 14);
    GUID guid = { 0xdeadbabe, 0xcafe, 0xbeef, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
    WINTUN_ADAPTER_HANDLE a = dll.WintunCreateAdapter(L"Demo", L"Example", &guid);
    WINTUN_ADAPTER_HANDLE b = dll.WintunCreateAdapter(L"Peer", L"Example", NULL);
    CHECK(a && b);
    CHECK(!dll.WintunCreateAdapter(L"demo", L"Example", NULL) && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK(logged(L"Created emulated adapter \"Demo\""));
    DWORD64 now = filetime_now();
    CHECK(line_count > 0 && stamps[0] <= now && now - stamps[0] < 50000000ULL); /* FILETIME, within 5 s */
    NET_LUID luid;
    dll.WintunGetAdapterLUID(a, &luid);
    CHECK(luid.Info.IfType == 53);

    typedef BOOL(WINAPI CONNECT_FUNC)(WINTUN_ADAPTER_HANDLE, WINTUN_ADAPTER_HANDLE);
    CONNECT_FUNC *connect = (CONNECT_FUNC *)(void *)GetProcAddress(dll.Module, "WintunEmulatedConnect");
    CHECK(connect && connect(a, b));
    WINTUN_SESSION_HANDLE sa = dll.WintunStartSession(a, 0x20000), sb = dll.WintunStartSession(b, 0x20000);
    CHECK(sa && sb);
    CHECK(!dll.WintunStartSession(a, 0x20000) && GetLastError() == ERROR_ALREADY_INITIALIZED);
    for (DWORD i = 0; i < 10; ++i) {
        BYTE *p = dll.WintunAllocateSendPacket(sa, 100);
        CHECK(p != NULL);
        if (p) {
            make_ipv4(p, 100, i);
            dll.WintunSendPacket(sa, p);
        }
    }
    HANDLE event = dll.WintunGetReadWaitEvent(sb);
    DWORD got = 0;
    for (DWORD tries = 0; got < 10 && tries < 100; ++tries) {
        DWORD size;
        BYTE *p = dll.WintunReceivePacket(sb, &size);
        if (!p) {
            CHECK(GetLastError() == ERROR_NO_MORE_ITEMS);
            WaitForSingleObject(event, 100);
            continue;
        }
        CHECK(size == 100 && p[27] == (BYTE)got);
        dll.WintunReleaseReceivePacket(sb, p);
        ++got;
    }
    CHECK(got == 10);
    /* Teardown: removing B ends its session, the reader sees EOF. */
    dll.WintunCloseAdapter(b);
    DWORD size;
    CHECK(!dll.WintunReceivePacket(sb, &size) && GetLastError() == ERROR_HANDLE_EOF);
    CHECK(!dll.WintunAllocateSendPacket(sb, 28) && GetLastError() == ERROR_HANDLE_EOF);
    dll.WintunEndSession(sb);
    dll.WintunEndSession(sa);
    dll.WintunCloseAdapter(a);
    CHECK(dll.WintunDeleteDriver());
    dll.WintunSetLogger(NULL);
    wt_dll_unload(&dll);
    CHECK(dll.Module == NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    find_folder();
    RUN(test_missing_file_and_default_search);
    RUN(test_missing_export);
    RUN(test_end_to_end_through_the_standin);
    return test_summary();
}
