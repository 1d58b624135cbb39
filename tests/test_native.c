/* SPDX-License-Identifier: MIT
 *
 * Windows: the kernel backend, i.e. the library's session API over a loaded wintun.dll, end to
 * end against the stand-in DLL (our session API and emulated driver under another name; a DLL
 * named wintun.dll is never built here). Kernel adapters are made by the DLL, sessions are the
 * DLL's, the extensions are built on its 14 functions, its log lines reach our logger, and IP
 * configuration goes through the IP Helper seam (a fake: Wine's setters abort).
 */
#include "iphelper.h"
#include "helpers.h"
#include "test.h"
#include "windows_helpers.h"

/* ---- the stand-in's own functions, to reach its adapters from outside the library ---- */

static HMODULE standin;
typedef WINTUN_ADAPTER_HANDLE(WINAPI OPEN_FUNC)(LPCWSTR);
typedef WINTUN_ADAPTER_HANDLE(WINAPI CREATE_FUNC)(LPCWSTR, LPCWSTR, const GUID *);
typedef VOID(WINAPI CLOSE_FUNC)(WINTUN_ADAPTER_HANDLE);
typedef VOID(WINAPI LUID_FUNC)(WINTUN_ADAPTER_HANDLE, NET_LUID *);
typedef BOOL(WINAPI CONNECT_FUNC)(WINTUN_ADAPTER_HANDLE, WINTUN_ADAPTER_HANDLE);
#define STANDIN(type, name) ((type *)(void *)GetProcAddress(standin, name))

/* ---- a fake IP Helper: one interface per family, found only after a few calls (as the IP
 * interfaces of a new adapter appear a moment after it), and its counters ---- */

static ULONG64 fake_luid;
static DWORD mtu_v4 = 65535, mtu_v6 = 65535;
static int not_yet[2] = { 2, 2 }; /* per family (IPv4, IPv6): calls that find no interface yet */
static IF_OPER_STATUS oper_status = IfOperStatusUp;
static WINTUN_ADDRESS added[4];
static DWORD added_count;

static DWORD WINAPI fake_get_interface(MIB_IPINTERFACE_ROW *row)
{
    int *missing = &not_yet[row->Family == AF_INET6];
    if (row->InterfaceLuid.Value != fake_luid)
        return ERROR_NOT_FOUND;
    if (*missing > 0) {
        --*missing;
        return ERROR_NOT_FOUND;
    }
    row->NlMtu = row->Family == AF_INET ? mtu_v4 : mtu_v6;
    row->SitePrefixLength = 64;
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_set_interface(MIB_IPINTERFACE_ROW *row)
{
    if (row->Family == AF_INET && row->SitePrefixLength)
        return ERROR_INVALID_PARAMETER;
    *(row->Family == AF_INET ? &mtu_v4 : &mtu_v6) = row->NlMtu;
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_create(const MIB_UNICASTIPADDRESS_ROW *row)
{
    if (row->InterfaceLuid.Value != fake_luid || added_count == 4)
        return ERROR_NOT_FOUND;
    WINTUN_ADDRESS *a = &added[added_count++];
    memset(a, 0, sizeof(*a));
    a->Family = row->Address.si_family;
    a->PrefixLength = row->OnLinkPrefixLength;
    memcpy(a->Address, &row->Address.Ipv4.sin_addr, 4);
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_delete(const MIB_UNICASTIPADDRESS_ROW *row)
{
    (void)row;
    return ERROR_NOT_FOUND;
}

static DWORD WINAPI fake_table(ADDRESS_FAMILY family, MIB_UNICASTIPADDRESS_TABLE **out)
{
    (void)family;
    MIB_UNICASTIPADDRESS_TABLE *t = calloc(1, sizeof(*t) + 4 * sizeof(MIB_UNICASTIPADDRESS_ROW));
    for (DWORD i = 0; i < added_count; ++i) {
        MIB_UNICASTIPADDRESS_ROW *row = &t->Table[t->NumEntries++];
        row->InterfaceLuid.Value = fake_luid;
        row->Address.si_family = AF_INET;
        memcpy(&row->Address.Ipv4.sin_addr, added[i].Address, 4);
        row->OnLinkPrefixLength = added[i].PrefixLength;
    }
    *out = t;
    return ERROR_SUCCESS;
}

static VOID WINAPI fake_free(PVOID p) { free(p); }

static DWORD WINAPI fake_if_entry(MIB_IF_ROW2 *row)
{
    if (row->InterfaceLuid.Value != fake_luid)
        return ERROR_FILE_NOT_FOUND;
    row->OperStatus = oper_status;
    row->InUcastPkts = 10, row->InNUcastPkts = 1, row->InOctets = 1100, row->InDiscards = 2;
    row->InErrors = 3, row->InUnknownProtos = 4;
    row->OutUcastPkts = 20, row->OutNUcastPkts = 2, row->OutOctets = 2200, row->OutDiscards = 5, row->OutErrors = 6;
    return ERROR_SUCCESS;
}

/* ---- tests ---- */

static void test_loading(void)
{
    CHECK_ERR(WintunLoadDll(L"Z:\\no\\such\\folder\\wintun.dll"), ERROR_MOD_NOT_FOUND);
    CHECK_ERR(WintunLoadDll(in_folder(L"wintun-missing.dll")), ERROR_PROC_NOT_FOUND);
    /* Not loaded yet: the default search finds no wintun.dll (none is ever built or shipped). */
    CHECK_ERR(WintunCreateAdapter(L"NoDll", L"T", NULL), ERROR_MOD_NOT_FOUND);
    CHECK_ERR(WintunOpenAdapter(L"NoDll"), ERROR_NOT_FOUND);
    CHECK(WintunLoadDll(in_folder(L"wintun-standin.dll")));
    CHECK(WintunLoadDll(in_folder(L"wintun-standin.dll"))); /* the same one again: fine */
    CHECK(WintunLoadDll(NULL));
    CHECK_ERR(WintunLoadDll(in_folder(L"wintun-missing.dll")), ERROR_ALREADY_INITIALIZED);
    standin = GetModuleHandleW(L"wintun-standin.dll");
    CHECK(standin != NULL);
    CHECK(WintunGetRunningDriverVersion() == 14); /* the stand-in's answer, through the DLL */
}

static void test_adapters(void)
{
    line_count = 0;
    WintunSetLogger(collect);
    GUID guid = { 0xdeadbabe, 0xcafe, 0xbeef, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapter(L"NativeA", L"Example", &guid);
    CHECK(a != NULL);
    CHECK(WintunGetAdapterBackend(a) == WINTUN_BACKEND_KERNEL);
    /* The DLL made it (its own log line, its FILETIME), and it is the DLL's adapter. */
    LONG line = find_line(L"Created emulated adapter \"NativeA\"");
    CHECK(line >= 0);
    DWORD64 now = filetime_now();
    CHECK(line >= 0 && stamps[line] <= now && now - stamps[line] < 50000000ULL);
    CHECK(find_line(L"Created kernel (wintun.dll) adapter \"NativeA\"") >= 0);
    WINTUN_ADAPTER_HANDLE inside = STANDIN(OPEN_FUNC, "WintunOpenAdapter")(L"NativeA");
    CHECK(inside != NULL);
    NET_LUID ours, theirs;
    WintunGetAdapterLUID(a, &ours);
    STANDIN(LUID_FUNC, "WintunGetAdapterLUID")(inside, &theirs);
    CHECK(ours.Value == theirs.Value && ours.Info.IfType == 53);
    STANDIN(CLOSE_FUNC, "WintunCloseAdapter")(inside);
    /* The DLL's errors come back as they are, with its ERR line as the explanation. */
    CHECK_ERR(WintunCreateAdapter(L"nativea", L"Example", NULL), ERROR_ALREADY_EXISTS);

    /* An adapter someone else made is opened through the DLL, and closing does not remove it. */
    WINTUN_ADAPTER_HANDLE foreign = STANDIN(CREATE_FUNC, "WintunCreateAdapter")(L"Foreign", L"Other", NULL);
    CHECK(foreign != NULL);
    WINTUN_ADAPTER_HANDLE opened = WintunOpenAdapter(L"Foreign");
    CHECK(opened != NULL && WintunGetAdapterBackend(opened) == WINTUN_BACKEND_KERNEL);
    STANDIN(LUID_FUNC, "WintunGetAdapterLUID")(foreign, &theirs);
    WintunGetAdapterLUID(opened, &ours);
    CHECK(ours.Value == theirs.Value);
    GUID unknown, zero = { 0 };
    CHECK(WintunGetAdapterGUID(opened, &unknown) && !memcmp(&unknown, &zero, sizeof(zero))); /* no system interface */
    WintunCloseAdapter(opened);
    inside = STANDIN(OPEN_FUNC, "WintunOpenAdapter")(L"Foreign");
    CHECK(inside != NULL); /* still there */
    STANDIN(CLOSE_FUNC, "WintunCloseAdapter")(inside);
    STANDIN(CLOSE_FUNC, "WintunCloseAdapter")(foreign);
    CHECK_ERR(WintunOpenAdapter(L"Foreign"), ERROR_NOT_FOUND);
    CHECK(find_line(L"Failed to find matching adapter name") >= 0);

    /* Ours: one open handle (the registry's) and the owner; the driver is in use meanwhile. */
    WINTUN_ADAPTER_HANDLE again = WintunOpenAdapter(L"NATIVEA");
    CHECK(again != NULL);
    WintunCloseAdapter(again);
    CHECK_ERR(WintunDeleteDriver(), ERROR_INF_IN_USE_BY_DEVICES);
    WintunCloseAdapter(a);
    CHECK(find_line(L"Removed adapter \"NativeA\"") >= 0);
    CHECK(!STANDIN(OPEN_FUNC, "WintunOpenAdapter")(L"NativeA")); /* the DLL removed it */
    CHECK(WintunDeleteDriver()); /* through the DLL now */
    WintunSetLogger(NULL);
}

struct seen
{
    DWORD seqs[16];
    DWORD count, decline_at;
    int declined;
};

static BOOL CALLBACK visit(void *context, const BYTE *packet, DWORD size)
{
    struct seen *seen = context;
    if (seen->count == seen->decline_at && !seen->declined) {
        seen->declined = 1; /* once: it must come first in the next call */
        return FALSE;
    }
    if (size < 28)
        return FALSE;
    seen->seqs[seen->count++] = packet[27];
    return TRUE;
}

static void test_sessions(void)
{
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapter(L"PairA", L"T", NULL), b = WintunCreateAdapter(L"PairB", L"T", NULL);
    CHECK(a && b);
    WINTUN_ADAPTER_HANDLE ia = STANDIN(OPEN_FUNC, "WintunOpenAdapter")(L"PairA");
    WINTUN_ADAPTER_HANDLE ib = STANDIN(OPEN_FUNC, "WintunOpenAdapter")(L"PairB");
    CHECK(STANDIN(CONNECT_FUNC, "WintunEmulatedConnect")(ia, ib)); /* a wire between the two */
    STANDIN(CLOSE_FUNC, "WintunCloseAdapter")(ia);
    STANDIN(CLOSE_FUNC, "WintunCloseAdapter")(ib);

    CHECK_ERR(WintunStartSession(a, 0x1000), ERROR_INVALID_PARAMETER); /* the DLL's check */
    WINTUN_SESSION_HANDLE sa = WintunStartSession(a, 0x20000), sb = WintunStartSession(b, 0x20000);
    CHECK(sa && sb);
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_ALREADY_INITIALIZED);
    CHECK(!WintunIsReceiveReady(sb));

    /* One by one. */
    for (DWORD i = 0; i < 10; ++i) {
        BYTE *p = WintunAllocateSendPacket(sa, 100);
        CHECK(p != NULL);
        if (p) {
            make_ipv4(p, 100, i);
            WintunSendPacket(sa, p);
        }
    }
    DWORD got = 0, size;
    for (BYTE *p; got < 10 && (p = receive_wait(sb, &size, 5000)); ++got) {
        CHECK(size == 100 && p[27] == (BYTE)got);
        WintunReleaseReceivePacket(sb, p);
    }
    CHECK(got == 10);
    CHECK_ERR(WintunReceivePacket(sb, &size), ERROR_NO_MORE_ITEMS);

    /* Batches: WintunSendPackets, then WintunIsReceiveReady (takes one ahead) and
     * WintunReceivePackets whose visitor declines the third: it comes first next time. */
    BYTE packets[5][64];
    const BYTE *pointers[5];
    DWORD sizes[5];
    for (DWORD i = 0; i < 5; ++i) {
        make_ipv4(packets[i], 64, 20 + i);
        pointers[i] = packets[i];
        sizes[i] = 64;
    }
    CHECK(WintunSendPackets(sa, pointers, sizes, 5) == 5);
    for (int tries = 0; tries < 50 && !WintunIsReceiveReady(sb); ++tries)
        WaitForSingleObject(WintunGetReadWaitEvent(sb), 100);
    CHECK(WintunIsReceiveReady(sb));
    struct seen seen = { .decline_at = 2 };
    for (int tries = 0; tries < 50 && seen.count < 5; ++tries) {
        int declined_before = seen.declined;
        DWORD n = WintunReceivePackets(sb, visit, &seen, 16);
        if (seen.declined && !declined_before)
            CHECK(GetLastError() == ERROR_SUCCESS || n > 0); /* a decline is no error */
        else if (!n) {
            CHECK(GetLastError() == ERROR_NO_MORE_ITEMS);
            WaitForSingleObject(WintunGetReadWaitEvent(sb), 100);
        }
    }
    CHECK(seen.declined);
    CHECK(seen.count == 5);
    for (DWORD i = 0; i < seen.count; ++i)
        CHECK(seen.seqs[i] == 20 + i);
    CHECK_ERR(WintunReceivePackets(sb, visit, &seen, 16), ERROR_NO_MORE_ITEMS);
    CHECK_ERR(WintunReceivePackets(sb, NULL, &seen, 16), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunSendPackets(sa, pointers, NULL, 5), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunAllocateSendPacket(sa, 0x10000), ERROR_INVALID_PARAMETER); /* checked before the DLL */
    SetLastError(0);
    WintunReleaseReceivePacket(sb, NULL);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    WintunSendPacket(sa, NULL);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);

    /* Teardown: removing B ends its session inside the DLL; our reader sees EOF. */
    WintunCloseAdapter(b);
    CHECK_ERR(WintunReceivePacket(sb, &size), ERROR_HANDLE_EOF);
    CHECK(WintunIsReceiveReady(sb)); /* ready to report EOF */
    CHECK_ERR(WintunReceivePacket(sb, &size), ERROR_HANDLE_EOF);
    CHECK_ERR(WintunAllocateSendPacket(sb, 28), ERROR_HANDLE_EOF);
    WintunEndSession(sb);
    WintunEndSession(sa);
    WintunCloseAdapter(a);
}

static void test_configuration_and_statistics(void)
{
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapter(L"Config", L"T", NULL);
    CHECK(a != NULL);
    NET_LUID luid;
    WintunGetAdapterLUID(a, &luid);
    fake_luid = luid.Value;
    wt_iphelper_api =
        (wt_iphelper){ fake_get_interface, fake_set_interface, fake_create, fake_delete, fake_table, fake_free, fake_if_entry };
    /* The IP interfaces are not there at first: the call waits for them. */
    CHECK(WintunSetAdapterMtu(a, 1280));
    CHECK(not_yet[0] == 0 && not_yet[1] == 0 && mtu_v4 == 1280 && mtu_v6 == 1280);
    DWORD mtu = 0;
    CHECK(WintunGetAdapterMtu(a, &mtu) && mtu == 1280);
    WINTUN_ADDRESS v4 = { .Family = AF_INET, .PrefixLength = 24, .Address = { 10, 9, 8, 7 } };
    CHECK(WintunAddAdapterAddress(a, &v4));
    WINTUN_ADDRESS list[4];
    DWORD count = 4;
    CHECK(WintunGetAdapterAddresses(a, list, &count) && count == 1 && !memcmp(list[0].Address, v4.Address, 4));
    CHECK_ERR(WintunDeleteAdapterAddress(a, &v4), ERROR_NOT_FOUND);
    /* Up follows the session: set is accepted; get is TRUE while a session of ours runs (the
     * interface says so a moment later), else the interface's operational state. */
    BOOL up = FALSE;
    CHECK(WintunSetAdapterUp(a, TRUE) && WintunSetAdapterUp(a, FALSE));
    CHECK(WintunGetAdapterUp(a, &up) && up);
    oper_status = IfOperStatusDown;
    CHECK(WintunGetAdapterUp(a, &up) && !up);
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s && WintunGetAdapterUp(a, &up) && up);
    WintunEndSession(s);
    CHECK(WintunGetAdapterUp(a, &up) && !up);
    /* Counters: the interface's, from the adapter's side. */
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st));
    CHECK(st.ReceivePackets == 11 && st.ReceiveBytes == 1100 && st.ReceiveDrops == 2 && st.ReceiveErrors == 3 &&
          st.ReceiveDiscards == 4);
    CHECK(st.SendPackets == 22 && st.SendBytes == 2200 && st.SendDrops == 5 && st.SendErrors == 6);
    fake_luid = 0; /* the interface is gone */
    CHECK_ERR(WintunGetAdapterStatistics(a, &st), ERROR_NOT_FOUND);
    CHECK_ERR(WintunGetAdapterUp(a, &up), ERROR_NOT_FOUND);
    CHECK_ERR(WintunGetAdapterStatistics(a, NULL), ERROR_INVALID_PARAMETER);
    WintunCloseAdapter(a);
}

static void test_emulated_beside_kernel(void)
{
    /* The emulated backend works in the same program, without the DLL. */
    WINTUN_ADAPTER_HANDLE e = WintunCreateAdapterEx(L"Local", L"T", NULL, WINTUN_BACKEND_EMULATED);
    CHECK(e && WintunGetAdapterBackend(e) == WINTUN_BACKEND_EMULATED);
    CHECK(!STANDIN(OPEN_FUNC, "WintunOpenAdapter")(L"Local")); /* not the DLL's */
    WINTUN_SESSION_HANDLE s = WintunStartSession(e, 0x20000);
    CHECK(s != NULL);
    BYTE packet[40];
    make_ipv4(packet, 40, 7);
    CHECK(WintunEmulatedInjectPacket(e, packet, 40));
    DWORD size;
    BYTE *p = receive_wait(s, &size, 5000);
    CHECK(p && size == 40 && p[27] == 7);
    if (p)
        WintunReleaseReceivePacket(s, p);
    WintunEndSession(s);
    WintunCloseAdapter(e);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    find_folder();
    SetEnvironmentVariableW(L"WINTUN_DLL", NULL);
    SetEnvironmentVariableW(L"WINTUN_BACKEND", NULL); /* the default: kernel, through the DLL */
    RUN(test_loading);
    if (standin) {
        RUN(test_adapters);
        RUN(test_sessions);
        RUN(test_configuration_and_statistics);
    }
    RUN(test_emulated_beside_kernel);
    return test_summary();
}
