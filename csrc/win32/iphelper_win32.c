/* SPDX-License-Identifier: MIT */
#ifdef _WIN32
#include "iphelper.h"
#include "logger.h"

#include <string.h>

wt_iphelper wt_iphelper_api = {
    .GetIpInterfaceEntry = GetIpInterfaceEntry,
    .SetIpInterfaceEntry = SetIpInterfaceEntry,
    .CreateUnicastIpAddressEntry = CreateUnicastIpAddressEntry,
    .DeleteUnicastIpAddressEntry = DeleteUnicastIpAddressEntry,
    .GetUnicastIpAddressTable = GetUnicastIpAddressTable,
    .FreeMibTable = FreeMibTable,
    .GetIfEntry2 = GetIfEntry2,
};

static const ADDRESS_FAMILY families[] = { AF_INET, AF_INET6 };

/* The adapter's IP interface of one family. ERROR_NOT_FOUND (not logged) when the adapter is not
 * bound to it; other errors are logged. The row starts as InitializeIpInterfaceEntry would make it
 * (a stub under Wine; the values are documented). */
static DWORD read_interface(NET_LUID luid, ADDRESS_FAMILY family, MIB_IPINTERFACE_ROW *row)
{
    memset(row, 0, sizeof(*row));
    row->Family = family;
    row->InterfaceLuid = luid;
    DWORD err = wt_iphelper_api.GetIpInterfaceEntry(row);
    if (err && err != ERROR_NOT_FOUND)
        wt_log_error(err, "Failed to read the IP interface (family %u)", (unsigned)family);
    return err;
}

static void address_row(MIB_UNICASTIPADDRESS_ROW *row, NET_LUID luid, const WINTUN_ADDRESS *address)
{
    memset(row, 0, sizeof(*row));
    row->InterfaceLuid = luid;
    row->Address.si_family = address->Family;
    if (address->Family == AF_INET)
        memcpy(&row->Address.Ipv4.sin_addr, address->Address, 4);
    else
        memcpy(&row->Address.Ipv6.sin6_addr, address->Address, 16);
    row->OnLinkPrefixLength = address->PrefixLength;
    row->PrefixOrigin = IpPrefixOriginManual;
    row->SuffixOrigin = IpSuffixOriginManual;
    row->ValidLifetime = 0xFFFFFFFF;
    row->PreferredLifetime = 0xFFFFFFFF;
    row->DadState = IpDadStatePreferred; /* usable at once, as Wintun's example sets it */
}

DWORD wt_iphelper_set_mtu(NET_LUID luid, DWORD mtu)
{
    int bound = 0;
    for (size_t i = 0; i < 2; ++i) {
        MIB_IPINTERFACE_ROW row;
        DWORD err = read_interface(luid, families[i], &row);
        if (err == ERROR_NOT_FOUND)
            continue; /* not bound to this family */
        if (err)
            return err;
        ++bound;
        row.NlMtu = mtu;
        if (families[i] == AF_INET)
            row.SitePrefixLength = 0; /* Set refuses an IPv4 row that carries one */
        if ((err = wt_iphelper_api.SetIpInterfaceEntry(&row)))
            return wt_log_error(err, "Failed to set MTU %u (family %u)", (unsigned)mtu, (unsigned)families[i]);
    }
    return bound ? ERROR_SUCCESS : wt_log_error(ERROR_NOT_FOUND, "The adapter has no IP interface");
}

DWORD wt_iphelper_get_mtu(NET_LUID luid, DWORD *mtu)
{
    DWORD smallest = 0;
    for (size_t i = 0; i < 2; ++i) {
        MIB_IPINTERFACE_ROW row;
        DWORD err = read_interface(luid, families[i], &row);
        if (err == ERROR_NOT_FOUND)
            continue;
        if (err)
            return err;
        if (!smallest || row.NlMtu < smallest)
            smallest = row.NlMtu;
    }
    if (!smallest)
        return wt_log_error(ERROR_NOT_FOUND, "The adapter has no IP interface");
    *mtu = smallest;
    return ERROR_SUCCESS;
}

DWORD wt_iphelper_add_address(NET_LUID luid, const WINTUN_ADDRESS *address)
{
    MIB_UNICASTIPADDRESS_ROW row;
    address_row(&row, luid, address);
    DWORD err = wt_iphelper_api.CreateUnicastIpAddressEntry(&row);
    if (err && err != ERROR_OBJECT_ALREADY_EXISTS)
        wt_log_error(err, "Failed to add the address");
    return err;
}

DWORD wt_iphelper_delete_address(NET_LUID luid, const WINTUN_ADDRESS *address)
{
    MIB_UNICASTIPADDRESS_ROW row;
    address_row(&row, luid, address);
    DWORD err = wt_iphelper_api.DeleteUnicastIpAddressEntry(&row);
    if (err == ERROR_FILE_NOT_FOUND)
        err = ERROR_NOT_FOUND;
    if (err && err != ERROR_NOT_FOUND)
        wt_log_error(err, "Failed to remove the address");
    return err;
}

DWORD wt_iphelper_get_addresses(NET_LUID luid, WINTUN_ADDRESS *addresses, DWORD *count)
{
    MIB_UNICASTIPADDRESS_TABLE *table = NULL;
    DWORD err = wt_iphelper_api.GetUnicastIpAddressTable(AF_UNSPEC, &table);
    if (err)
        return wt_log_error(err, "Failed to read the addresses");
    DWORD found = 0;
    for (ULONG i = 0; i < table->NumEntries; ++i) {
        const MIB_UNICASTIPADDRESS_ROW *row = &table->Table[i];
        if (row->InterfaceLuid.Value != luid.Value)
            continue;
        ADDRESS_FAMILY family = row->Address.si_family;
        const BYTE *v6 = (const BYTE *)&row->Address.Ipv6.sin6_addr;
        if (family == AF_INET6 && v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80)
            continue; /* as on Linux: what was configured, not the automatic fe80::/10 */
        if (found < *count) {
            WINTUN_ADDRESS *out = &addresses[found];
            memset(out, 0, sizeof(*out));
            out->Family = family;
            out->PrefixLength = row->OnLinkPrefixLength;
            if (family == AF_INET)
                memcpy(out->Address, &row->Address.Ipv4.sin_addr, 4);
            else
                memcpy(out->Address, &row->Address.Ipv6.sin6_addr, 16);
        }
        ++found;
    }
    wt_iphelper_api.FreeMibTable(table);
    err = found > *count ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS;
    *count = found;
    return err;
}

DWORD wt_iphelper_wait_interface(NET_LUID luid, DWORD timeout_ms)
{
    const ULONGLONG deadline = GetTickCount64() + timeout_ms;
    for (;;) {
        for (size_t i = 0; i < 2; ++i) {
            MIB_IPINTERFACE_ROW row;
            DWORD err = read_interface(luid, families[i], &row);
            if (err != ERROR_NOT_FOUND)
                return err;
        }
        if (GetTickCount64() >= deadline)
            return wt_log_error(ERROR_NOT_FOUND, "The adapter's IP interfaces did not appear within %u ms", (unsigned)timeout_ms);
        Sleep(20);
    }
}

static DWORD if_row(NET_LUID luid, MIB_IF_ROW2 *row)
{
    memset(row, 0, sizeof(*row));
    row->InterfaceLuid = luid;
    DWORD err = wt_iphelper_api.GetIfEntry2(row);
    if (err == ERROR_FILE_NOT_FOUND)
        err = ERROR_NOT_FOUND;
    if (err)
        wt_log_error(err, "Failed to read the interface");
    return err;
}

DWORD wt_iphelper_get_up(NET_LUID luid, BOOL *up)
{
    MIB_IF_ROW2 row;
    DWORD err = if_row(luid, &row);
    if (!err)
        *up = row.OperStatus == IfOperStatusUp;
    return err;
}

DWORD wt_iphelper_get_stats(NET_LUID luid, WINTUN_ADAPTER_STATISTICS *stats)
{
    MIB_IF_ROW2 row;
    DWORD err = if_row(luid, &row);
    if (err)
        return err;
    memset(stats, 0, sizeof(*stats));
    stats->ReceivePackets = row.InUcastPkts + row.InNUcastPkts;
    stats->ReceiveBytes = row.InOctets;
    stats->ReceiveDiscards = row.InUnknownProtos;
    stats->ReceiveDrops = row.InDiscards;
    stats->ReceiveErrors = row.InErrors;
    stats->SendPackets = row.OutUcastPkts + row.OutNUcastPkts;
    stats->SendBytes = row.OutOctets;
    stats->SendDrops = row.OutDiscards;
    stats->SendErrors = row.OutErrors;
    return ERROR_SUCCESS;
}
#endif
