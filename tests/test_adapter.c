/* SPDX-License-Identifier: MIT
 *
 * Adapters: create/open/close, names, GUIDs, LUIDs, backend choice, configuration, bad input.
 */
#include "helpers.h"
#include "adapter.h"


static void test_create_open_close(void)
{
    GUID guid = { 0xdeadbabe, 0xcafe, 0xbeef, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapterEx(L"Demo", L"Example", &guid, WINTUN_BACKEND_EMULATED);
    CHECK(a != NULL);
    CHECK(WintunGetAdapterBackend(a) == WINTUN_BACKEND_EMULATED);
    GUID got;
    CHECK(WintunGetAdapterGUID(a, &got) && !memcmp(&got, &guid, sizeof(guid)));
    WCHAR name[16];
    CHECK(WintunGetAdapterName(a, name, 16) && !wcscmp(name, L"Demo"));
    CHECK_ERR(WintunGetAdapterName(a, name, 4), ERROR_INSUFFICIENT_BUFFER);

    NET_LUID luid;
    WintunGetAdapterLUID(a, &luid);
    CHECK(luid.Info.IfType == 53);
    CHECK(luid.Info.Reserved == 0);
    CHECK(luid.Info.NetLuidIndex != 0);
    CHECK(luid.Value == ((53ULL << 48) | ((ULONG64)luid.Info.NetLuidIndex << 24)));

    /* Open is case-insensitive, gives the same adapter, and does not own it. */
    WINTUN_ADAPTER_HANDLE o = WintunOpenAdapter(L"dEmO");
    CHECK(o != NULL);
    NET_LUID luid2;
    WintunGetAdapterLUID(o, &luid2);
    CHECK(luid2.Value == luid.Value);
    WintunCloseAdapter(o);
    o = WintunOpenAdapter(L"Demo");
    CHECK(o != NULL); /* still there */

    /* Same name or same GUID: refused, never renamed. */
    CHECK_ERR(WintunCreateAdapterEx(L"DEMO", L"Example", NULL, WINTUN_BACKEND_EMULATED), ERROR_ALREADY_EXISTS);
    CHECK_ERR(WintunCreateAdapterEx(L"Other", L"Example", &guid, WINTUN_BACKEND_EMULATED), ERROR_ALREADY_EXISTS);

    WintunCloseAdapter(a); /* the owner: removes it */
    CHECK_ERR(WintunOpenAdapter(L"Demo"), ERROR_NOT_FOUND);
    CHECK_ERR(WintunStartSession(o, 0x20000), ERROR_DEV_NOT_EXIST);
    DWORD mtu;
    CHECK_ERR(WintunGetAdapterMtu(o, &mtu), ERROR_DEV_NOT_EXIST);
    WintunCloseAdapter(o);
    /* The name is free again. */
    a = WintunCreateAdapterEx(L"Demo", L"Example", &guid, WINTUN_BACKEND_EMULATED);
    CHECK(a != NULL);
    WintunCloseAdapter(a);
    WintunCloseAdapter(NULL); /* no-op */
}

static void test_random_guids_and_luids_unique(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"u1"), b = emulated_adapter(L"u2");
    GUID ga, gb;
    CHECK(WintunGetAdapterGUID(a, &ga) && WintunGetAdapterGUID(b, &gb));
    CHECK(memcmp(&ga, &gb, sizeof(GUID)) != 0);
    CHECK((ga.Data3 >> 12) == 4); /* version 4 */
    NET_LUID la, lb;
    WintunGetAdapterLUID(a, &la);
    WintunGetAdapterLUID(b, &lb);
    CHECK(la.Value != lb.Value);
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
}

static void test_names(void)
{
    WCHAR long_name[200];
    for (int i = 0; i < 199; ++i)
        long_name[i] = L'a';
    long_name[199] = 0;
    CHECK_ERR(WintunCreateAdapterEx(long_name, L"T", NULL, WINTUN_BACKEND_EMULATED), ERROR_BUFFER_OVERFLOW);
    long_name[128] = 0; /* 128 characters: one too many */
    CHECK_ERR(WintunCreateAdapterEx(long_name, L"T", NULL, WINTUN_BACKEND_EMULATED), ERROR_BUFFER_OVERFLOW);
    long_name[127] = 0;
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapterEx(long_name, L"T", NULL, WINTUN_BACKEND_EMULATED);
    CHECK(a != NULL);
    WintunCloseAdapter(a);
    CHECK_ERR(WintunCreateAdapterEx(L"", L"T", NULL, WINTUN_BACKEND_EMULATED), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunCreateAdapterEx(NULL, L"T", NULL, WINTUN_BACKEND_EMULATED), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunCreateAdapterEx(L"x", NULL, NULL, WINTUN_BACKEND_EMULATED), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunCreateAdapterEx(L"x", L"", NULL, WINTUN_BACKEND_EMULATED), ERROR_INVALID_PARAMETER);
    /* Tunnel types: up to 128 characters (Wintun's "<TunnelType> Tunnel" buffer). */
    WINTUN_ADAPTER_HANDLE x = WintunCreateAdapterEx(L"x", long_name, NULL, WINTUN_BACKEND_EMULATED);
    CHECK(x != NULL);
    WintunCloseAdapter(x);
    WCHAR long_type[131];
    for (int i = 0; i < 130; ++i)
        long_type[i] = L't';
    long_type[129] = 0;
    CHECK_ERR(WintunCreateAdapterEx(L"x", long_type, NULL, WINTUN_BACKEND_EMULATED), ERROR_BUFFER_OVERFLOW);
    WCHAR bad[] = { L'a', 0xD800, 0 }; /* a lone surrogate is not a name */
    CHECK_ERR(WintunCreateAdapterEx(bad, L"T", NULL, WINTUN_BACKEND_EMULATED), ERROR_INVALID_NAME);
    const WCHAR *unicode = L"\u00E9\u4E2D\U0001F600"; /* a surrogate pair where WCHAR is 16 bits */
    a = WintunCreateAdapterEx(unicode, L"T", NULL, WINTUN_BACKEND_EMULATED);
    CHECK(a != NULL);
    WintunCloseAdapter(a);
    CHECK_ERR(WintunOpenAdapter(NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunOpenAdapter(L""), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunOpenAdapter(L"nothing-like-this"), ERROR_NOT_FOUND);
}

static void test_backend_choice(void)
{
    /* The kernel backend (the default) is tested in test_kernel.c, inside a namespace. */
    setenv("WINTUN_BACKEND", "bogus", 1);
    CHECK_ERR(WintunCreateAdapter(L"k", L"T", NULL), ERROR_NOT_SUPPORTED);
    setenv("WINTUN_BACKEND", "emulated", 1);
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapter(L"k", L"T", NULL);
    CHECK(a && WintunGetAdapterBackend(a) == WINTUN_BACKEND_EMULATED);
    int netns, userns;
    CHECK_ERR(WintunGetAdapterNetns(a, &netns, &userns), ERROR_NOT_SUPPORTED);
    char ifname[16];
    CHECK_ERR(WintunGetAdapterInterfaceName(a, ifname, sizeof(ifname)), ERROR_NOT_SUPPORTED); /* no interface */
    WintunCloseAdapter(a);
    CHECK_ERR(WintunGetAdapterInterfaceName(a, ifname, sizeof(ifname)), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunCreateAdapterEx(L"k", L"T", NULL, (WINTUN_BACKEND)99), ERROR_NOT_SUPPORTED);
    CHECK_ERR(WintunCreateAdapterInNetns(L"k", L"T", NULL, NULL), ERROR_INVALID_PARAMETER);
    unsetenv("WINTUN_BACKEND");
}

static void test_driver_functions(void)
{
#ifdef _WIN32
    setenv("WINTUN_BACKEND", "emulated", 1); /* the kernel backend's are wintun.dll's: test_native */
#endif
    CHECK(WintunGetRunningDriverVersion() == 0x0000000E);
    CHECK(WintunDeleteDriver());
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"drv");
    CHECK_ERR(WintunDeleteDriver(), ERROR_INF_IN_USE_BY_DEVICES);
    WintunCloseAdapter(a);
    CHECK(WintunDeleteDriver());
    unsetenv("WINTUN_BACKEND");
}

static void test_configuration(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"cfg");
    DWORD mtu = 0;
    CHECK(WintunGetAdapterMtu(a, &mtu) && mtu == 1500);
    CHECK(WintunSetAdapterMtu(a, 1280) && WintunGetAdapterMtu(a, &mtu) && mtu == 1280);
    CHECK(WintunSetAdapterMtu(a, 68));
    CHECK(WintunSetAdapterMtu(a, 65535));
    CHECK_ERR(WintunSetAdapterMtu(a, 67), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunSetAdapterMtu(a, 65536), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunGetAdapterMtu(a, NULL), ERROR_INVALID_PARAMETER);
    CHECK(WintunGetAdapterMtu(a, &mtu) && mtu == 65535); /* unchanged by the failures */

    WINTUN_ADDRESS v4 = { .Family = AF_INET, .PrefixLength = 24, .Address = { 10, 6, 7, 7 } };
    WINTUN_ADDRESS v6 = { .Family = AF_INET6, .PrefixLength = 64, .Address = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } };
    CHECK(WintunAddAdapterAddress(a, &v4));
    CHECK_ERR(WintunAddAdapterAddress(a, &v4), ERROR_OBJECT_ALREADY_EXISTS);
    CHECK(WintunAddAdapterAddress(a, &v6));
    WINTUN_ADDRESS list[4];
    DWORD count = 1;
    CHECK_ERR(WintunGetAdapterAddresses(a, list, &count), ERROR_INSUFFICIENT_BUFFER);
    CHECK(count == 2);
    count = 4;
    CHECK(WintunGetAdapterAddresses(a, list, &count) && count == 2);
    CHECK(list[0].Family == AF_INET && list[0].PrefixLength == 24 && list[1].Family == AF_INET6);
    /* With IPv6 configured the MTU cannot go under 1280. */
    CHECK_ERR(WintunSetAdapterMtu(a, 1279), ERROR_INVALID_PARAMETER);
    CHECK(WintunDeleteAdapterAddress(a, &v6));
    CHECK_ERR(WintunDeleteAdapterAddress(a, &v6), ERROR_NOT_FOUND);
    WINTUN_ADDRESS bad = v4;
    bad.PrefixLength = 33;
    CHECK_ERR(WintunAddAdapterAddress(a, &bad), ERROR_INVALID_PARAMETER);
    bad = v6;
    bad.PrefixLength = 129;
    CHECK_ERR(WintunAddAdapterAddress(a, &bad), ERROR_INVALID_PARAMETER);
    bad.Family = 12345;
    CHECK_ERR(WintunAddAdapterAddress(a, &bad), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunAddAdapterAddress(a, NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunGetAdapterAddresses(a, NULL, NULL), ERROR_INVALID_PARAMETER);

    BOOL up = FALSE;
    CHECK(WintunGetAdapterUp(a, &up) && up);
    CHECK(WintunSetAdapterUp(a, FALSE) && WintunGetAdapterUp(a, &up) && !up);
    CHECK_ERR(WintunGetAdapterUp(a, NULL), ERROR_INVALID_PARAMETER);
    WintunCloseAdapter(a);

    CHECK_ERR(WintunSetAdapterMtu(NULL, 1500), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunGetAdapterStatistics(NULL, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunGetAdapterGUID(NULL, NULL), ERROR_INVALID_HANDLE);
}

/* Wintun 0.9's enumeration of a pool, by tunnel type. */
struct enumerated
{
    int count, stop_after;
    WINTUN_ADAPTER_HANDLE close_me; /* closed from inside the callback */
    WCHAR last[64];
};

static BOOL CALLBACK count_adapter(WINTUN_ADAPTER_HANDLE adapter, LPARAM param)
{
    struct enumerated *e = (struct enumerated *)param;
    CHECK(WintunGetAdapterTunnelType(adapter, e->last, 64));
    if (e->close_me) {
        WintunCloseAdapter(e->close_me); /* no lock is held: the callback may close adapters */
        e->close_me = NULL;
    }
    return ++e->count != e->stop_after;
}

static void test_enumerate_by_tunnel_type(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"enum-a"), b = emulated_adapter(L"enum-b");
    WINTUN_ADAPTER_HANDLE c = WintunCreateAdapterEx(L"enum-c", L"Other Pool", NULL, WINTUN_BACKEND_EMULATED);
    struct enumerated e = { 0 };
    CHECK(WintunEnumAdapters(L"TEST", count_adapter, (LPARAM)&e) && e.count == 2 && !wcscmp(e.last, L"Test"));
    e = (struct enumerated){ 0 };
    CHECK(WintunEnumAdapters(L"other pool", count_adapter, (LPARAM)&e) && e.count == 1 && !wcscmp(e.last, L"Other Pool"));
    e = (struct enumerated){ .stop_after = 1 };
    CHECK(WintunEnumAdapters(NULL, count_adapter, (LPARAM)&e) && e.count == 1);
    e = (struct enumerated){ 0 };
    CHECK(WintunEnumAdapters(L"No Such Pool", count_adapter, (LPARAM)&e) && e.count == 0);
    CHECK_ERR(WintunEnumAdapters(L"", count_adapter, 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEnumAdapters(L"Test", NULL, 0), ERROR_INVALID_PARAMETER);
    WCHAR small[3];
    CHECK_ERR(WintunGetAdapterTunnelType(a, small, 3), ERROR_INSUFFICIENT_BUFFER);
    /* The callback closes an adapter that is still to come: it is skipped or seen, never freed under it. */
    e = (struct enumerated){ .close_me = b };
    CHECK(WintunEnumAdapters(L"Test", count_adapter, (LPARAM)&e) && (e.count == 1 || e.count == 2));
    e = (struct enumerated){ 0 };
    CHECK(WintunEnumAdapters(L"Test", count_adapter, (LPARAM)&e) && e.count == 1);
    CHECK(adapter_still_works(a, 5));
    WintunCloseAdapter(a);
    WintunCloseAdapter(c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_create_open_close);
    RUN(test_enumerate_by_tunnel_type);
    RUN(test_random_guids_and_luids_unique);
    RUN(test_names);
    RUN(test_backend_choice);
    RUN(test_driver_functions);
    RUN(test_configuration);
    return test_summary();
}
