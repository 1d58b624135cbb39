/* SPDX-License-Identifier: MIT
 *
 * Windows: an adapter's IP configuration through the IP Helper API, on its LUID (never netsh):
 * MTU of both IP interfaces, unicast addresses (created with DadState preferred, as Wintun's
 * example does). The IP Helper functions are reached through a seam, wt_iphelper, that tests
 * replace: under Wine 8.0 the setters are stubs that abort the process instead of failing.
 */
#ifndef WINTUN_IPHELPER_H
#define WINTUN_IPHELPER_H

#ifdef _WIN32
#include "wintun_ext.h"
#include <iphlpapi.h>
#include <netioapi.h>

typedef struct
{
    DWORD(WINAPI *GetIpInterfaceEntry)(MIB_IPINTERFACE_ROW *Row);
    DWORD(WINAPI *SetIpInterfaceEntry)(MIB_IPINTERFACE_ROW *Row);
    DWORD(WINAPI *CreateUnicastIpAddressEntry)(const MIB_UNICASTIPADDRESS_ROW *Row);
    DWORD(WINAPI *DeleteUnicastIpAddressEntry)(const MIB_UNICASTIPADDRESS_ROW *Row);
    DWORD(WINAPI *GetUnicastIpAddressTable)(ADDRESS_FAMILY Family, MIB_UNICASTIPADDRESS_TABLE **Table);
    VOID(WINAPI *FreeMibTable)(PVOID Memory);
    DWORD(WINAPI *GetIfEntry2)(MIB_IF_ROW2 *Row);
} wt_iphelper;

/* The functions in use; the real IP Helper unless a test put others in. */
extern wt_iphelper wt_iphelper_api;

/* MTU of the adapter's IPv4 and IPv6 interfaces (a family the adapter is not bound to is
 * skipped; ERROR_NOT_FOUND if neither is). */
DWORD wt_iphelper_set_mtu(NET_LUID luid, DWORD mtu);
/* The smaller MTU of its bound IP interfaces. */
DWORD wt_iphelper_get_mtu(NET_LUID luid, DWORD *mtu);
/* Returns ERROR_OBJECT_ALREADY_EXISTS if the adapter has it, as CreateUnicastIpAddressEntry. */
DWORD wt_iphelper_add_address(NET_LUID luid, const WINTUN_ADDRESS *address);
DWORD wt_iphelper_delete_address(NET_LUID luid, const WINTUN_ADDRESS *address);
/* As WintunGetAdapterAddresses. */
DWORD wt_iphelper_get_addresses(NET_LUID luid, WINTUN_ADDRESS *addresses, DWORD *count);
/* Operational state: up while a session runs (the driver reports media connected). */
DWORD wt_iphelper_get_up(NET_LUID luid, BOOL *up);
/* The interface's counters, from the adapter's side: Receive* are the packets the program wrote
 * (the interface's In* counters), Send* those it was given to read (Out*). */
DWORD wt_iphelper_get_stats(NET_LUID luid, WINTUN_ADAPTER_STATISTICS *stats);
/* The IP interfaces of an adapter appear a moment after it is created (setting the MTU or an
 * address at once fails with ERROR_NOT_FOUND, a common report against Wintun wrappers): waits,
 * polling every 20 ms, until one of the two families is there; ERROR_NOT_FOUND (logged once) after
 * timeout_ms. */
DWORD wt_iphelper_wait_interface(NET_LUID luid, DWORD timeout_ms);
#define WT_IPHELPER_SETTLE_MS 5000
#endif

#endif
