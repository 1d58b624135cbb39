/* SPDX-License-Identifier: MIT
 *
 * Windows: IP configuration through the IP Helper seam, against a fake IP Helper that behaves as
 * Windows' does (Wine's setters abort, so the real ones cannot run here): rows keyed by LUID and
 * family, an IPv4 row refused by Set when it carries a site prefix, duplicates refused.
 */
#include "iphelper.h"
#include "test.h"

#include <string.h>

#define OURS 0x0035000001000000ULL
#define OTHER 0x0006000002000000ULL

static MIB_IPINTERFACE_ROW interfaces[2]; /* [0] IPv4, [1] IPv6 */
static int ipv6_bound = 1;
static MIB_UNICASTIPADDRESS_ROW addresses[16];
static DWORD address_count;
static int set_calls;

static DWORD WINAPI fake_get_interface(MIB_IPINTERFACE_ROW *row)
{
    int i = row->Family == AF_INET6;
    if (row->InterfaceLuid.Value != OURS || (i && !ipv6_bound))
        return ERROR_NOT_FOUND;
    *row = interfaces[i];
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_set_interface(MIB_IPINTERFACE_ROW *row)
{
    ++set_calls;
    if (row->Family == AF_INET && row->SitePrefixLength)
        return ERROR_INVALID_PARAMETER;
    interfaces[row->Family == AF_INET6] = *row;
    return ERROR_SUCCESS;
}

static int same_address(const MIB_UNICASTIPADDRESS_ROW *a, const MIB_UNICASTIPADDRESS_ROW *b)
{
    if (a->InterfaceLuid.Value != b->InterfaceLuid.Value || a->Address.si_family != b->Address.si_family)
        return 0;
    return a->Address.si_family == AF_INET ? !memcmp(&a->Address.Ipv4.sin_addr, &b->Address.Ipv4.sin_addr, 4)
                                           : !memcmp(&a->Address.Ipv6.sin6_addr, &b->Address.Ipv6.sin6_addr, 16);
}

static DWORD WINAPI fake_create(const MIB_UNICASTIPADDRESS_ROW *row)
{
    for (DWORD i = 0; i < address_count; ++i)
        if (same_address(&addresses[i], row))
            return ERROR_OBJECT_ALREADY_EXISTS;
    addresses[address_count++] = *row;
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_delete(const MIB_UNICASTIPADDRESS_ROW *row)
{
    for (DWORD i = 0; i < address_count; ++i) {
        if (same_address(&addresses[i], row)) {
            addresses[i] = addresses[--address_count];
            return ERROR_SUCCESS;
        }
    }
    return ERROR_NOT_FOUND;
}

static DWORD WINAPI fake_table(ADDRESS_FAMILY family, MIB_UNICASTIPADDRESS_TABLE **out)
{
    (void)family;
    MIB_UNICASTIPADDRESS_TABLE *t = malloc(sizeof(*t) + 16 * sizeof(MIB_UNICASTIPADDRESS_ROW));
    t->NumEntries = address_count;
    memcpy(t->Table, addresses, address_count * sizeof(MIB_UNICASTIPADDRESS_ROW));
    *out = t;
    return ERROR_SUCCESS;
}

static VOID WINAPI fake_free(PVOID p) { free(p); }

static void reset(void)
{
    memset(interfaces, 0, sizeof(interfaces));
    for (int i = 0; i < 2; ++i) {
        interfaces[i].Family = i ? AF_INET6 : AF_INET;
        interfaces[i].InterfaceLuid.Value = OURS;
        interfaces[i].NlMtu = 65535; /* a fresh Wintun adapter */
        interfaces[i].SitePrefixLength = 64; /* what Get returns for IPv4 too */
    }
    address_count = 0;
    ipv6_bound = 1;
    set_calls = 0;
    wt_iphelper_api =
        (wt_iphelper){ fake_get_interface, fake_set_interface, fake_create, fake_delete, fake_table, fake_free, NULL };
}

static NET_LUID luid(ULONG64 v)
{
    NET_LUID l;
    l.Value = v;
    return l;
}

static void test_mtu(void)
{
    reset();
    DWORD mtu = 0;
    CHECK(wt_iphelper_get_mtu(luid(OURS), &mtu) == ERROR_SUCCESS && mtu == 65535);
    CHECK(wt_iphelper_set_mtu(luid(OURS), 1420) == ERROR_SUCCESS);
    CHECK(set_calls == 2 && interfaces[0].NlMtu == 1420 && interfaces[1].NlMtu == 1420);
    CHECK(interfaces[0].SitePrefixLength == 0); /* cleared, or Windows refuses the IPv4 row */
    ipv6_bound = 0; /* IPv6 disabled on the host: the IPv4 interface alone */
    CHECK(wt_iphelper_set_mtu(luid(OURS), 1400) == ERROR_SUCCESS && interfaces[0].NlMtu == 1400);
    CHECK(wt_iphelper_get_mtu(luid(OURS), &mtu) == ERROR_SUCCESS && mtu == 1400);
    CHECK(wt_iphelper_set_mtu(luid(OTHER), 1400) == ERROR_NOT_FOUND);
}

static void test_addresses(void)
{
    reset();
    WINTUN_ADDRESS v4 = { .Family = AF_INET, .PrefixLength = 24, .Address = { 10, 6, 7, 7 } };
    WINTUN_ADDRESS v6 = { .Family = AF_INET6, .PrefixLength = 64, .Address = { 0xfd, 0, [15] = 2 } };
    CHECK(wt_iphelper_add_address(luid(OURS), &v4) == ERROR_SUCCESS);
    CHECK(addresses[0].OnLinkPrefixLength == 24 && addresses[0].DadState == IpDadStatePreferred);
    CHECK(addresses[0].InterfaceLuid.Value == OURS && addresses[0].ValidLifetime == 0xFFFFFFFF);
    CHECK(wt_iphelper_add_address(luid(OURS), &v4) == ERROR_OBJECT_ALREADY_EXISTS);
    CHECK(wt_iphelper_add_address(luid(OURS), &v6) == ERROR_SUCCESS);
    /* Another adapter's address and an automatic link-local are not ours to report. */
    WINTUN_ADDRESS other = v4;
    other.Address[3] = 9;
    wt_iphelper_add_address(luid(OTHER), &other);
    WINTUN_ADDRESS link_local = { .Family = AF_INET6, .PrefixLength = 64, .Address = { 0xfe, 0x80, [15] = 1 } };
    wt_iphelper_add_address(luid(OURS), &link_local);
    WINTUN_ADDRESS list[4];
    DWORD count = 4;
    CHECK(wt_iphelper_get_addresses(luid(OURS), list, &count) == ERROR_SUCCESS && count == 2);
    CHECK(list[0].Family == AF_INET && list[0].PrefixLength == 24 && !memcmp(list[0].Address, v4.Address, 4));
    CHECK(list[1].Family == AF_INET6 && !memcmp(list[1].Address, v6.Address, 16));
    count = 1;
    CHECK(wt_iphelper_get_addresses(luid(OURS), list, &count) == ERROR_INSUFFICIENT_BUFFER && count == 2);
    CHECK(wt_iphelper_delete_address(luid(OURS), &v6) == ERROR_SUCCESS);
    CHECK(wt_iphelper_delete_address(luid(OURS), &v6) == ERROR_NOT_FOUND);
}

static void test_wait_for_the_interface(void)
{
    reset();
    CHECK(wt_iphelper_wait_interface(luid(OURS), 1000) == ERROR_SUCCESS);
    ipv6_bound = 0; /* one family is enough */
    CHECK(wt_iphelper_wait_interface(luid(OURS), 1000) == ERROR_SUCCESS);
    ULONGLONG start = GetTickCount64();
    CHECK(wt_iphelper_wait_interface(luid(OTHER), 100) == ERROR_NOT_FOUND); /* never appears */
    ULONGLONG waited = GetTickCount64() - start;
    CHECK(waited >= 90 && waited < 2000);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_wait_for_the_interface);
    RUN(test_mtu);
    RUN(test_addresses);
    return test_summary();
}
