/* SPDX-License-Identifier: MIT
 *
 * rtnetlink, the Linux kernel's own interface configuration API: link state and MTU, addresses.
 * Every call is one request on the given NETLINK_ROUTE socket (bound in the adapter's network
 * namespace), acknowledged or answered by the kernel; errors come back as Win32 codes, logged.
 */
#ifndef WINTUN_NETLINK_H
#define WINTUN_NETLINK_H

#include "wintun_ext.h"

#include <stddef.h>
#include <stdint.h>

/* A NETLINK_ROUTE socket in the calling thread's network namespace, or -1 with errno. */
int wt_nl_open(void);

/* Sets the MTU (if mtu != 0) and the administrative state (up: 1 up, 0 down, -1 unchanged). */
DWORD wt_nl_set_link(int fd, unsigned ifindex, DWORD mtu, int up);
/* IFLA_IFALIAS (at most 255 bytes): what `ip link` shows as the interface's alias. */
DWORD wt_nl_set_alias(int fd, unsigned ifindex, const char *alias);
DWORD wt_nl_get_link(int fd, unsigned ifindex, DWORD *mtu, BOOL *up);
/* RTM_DELLINK: the interface goes, whoever holds its descriptor. */
DWORD wt_nl_delete_link(int fd, unsigned ifindex);
/* The interface's name as the kernel has it now (renamed from outside, say). */
DWORD wt_nl_get_ifname(int fd, unsigned ifindex, char name[16]);
/* Adds an alternative name (RTM_NEWLINKPROP, Linux 5.5): ERROR_NOT_SUPPORTED, not logged, where
 * the kernel has none; ERROR_OBJECT_ALREADY_EXISTS where another interface has that name. */
DWORD wt_nl_add_altname(int fd, unsigned ifindex, const char *name);
/* No automatic IPv6 link-local address: the interface holds what is configured, nothing else.
 * Succeeds where IPv6 is off (ipv6.disable=1: EAFNOSUPPORT). */
DWORD wt_nl_disable_ipv6_autoconf(int fd, unsigned ifindex);
/* RTM_NEWADDR (IPv6 with IFA_F_NODAD: usable at once) or RTM_DELADDR. */
DWORD wt_nl_add_address(int fd, unsigned ifindex, const WINTUN_ADDRESS *address);
DWORD wt_nl_delete_address(int fd, unsigned ifindex, const WINTUN_ADDRESS *address);
/* Every address the interface holds, link-local included, in the kernel's order. As
 * WintunGetAdapterAddresses. */
DWORD wt_nl_get_addresses(int fd, unsigned ifindex, WINTUN_ADDRESS *addresses, DWORD *count);

/* Tests: the next requests of this type (and, if nonzero, whose first attribute is of this
 * type, and whose family is this) get errno err from "the kernel" instead of being sent. */
struct wt_nl_fault
{
    uint16_t type, attribute;
    unsigned char family;
    int err; /* 0: no fault; set last, atomically */
};
extern struct wt_nl_fault wt_nl_fault;

/* The reply parsers behind wt_nl_get_link and wt_nl_get_addresses, over the messages in buf
 * (exposed for the fuzzer): ERROR_SUCCESS at the end of the reply, the kernel's error, or
 * ERROR_MORE_DATA. buf is untrusted: every length in it is checked. */
DWORD wt_nl_parse_link_replies(const void *buf, size_t n, uint32_t seq, unsigned ifindex, DWORD *mtu, BOOL *up);
DWORD wt_nl_parse_address_replies(const void *buf, size_t n, uint32_t seq, unsigned ifindex, WINTUN_ADDRESS *addresses,
                                  DWORD *count);

#endif
