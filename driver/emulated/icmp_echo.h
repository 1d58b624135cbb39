/* SPDX-License-Identifier: MIT
 *
 * The one thing the emulated OS stack answers: ICMPv4 and ICMPv6 echo requests to its own
 * addresses. Parses an untrusted packet; never reads past len.
 */
#ifndef WINTUN_ICMP_ECHO_H
#define WINTUN_ICMP_ECHO_H

#include "wintun_ext.h"

#include <stdint.h>

/* If packet is an echo request addressed to one of addresses, writes the reply into reply
 * (room for len bytes) and returns its length; else 0. */
uint32_t wt_icmp_echo_reply(const uint8_t *packet, uint32_t len, const WINTUN_ADDRESS *addresses, uint32_t count,
                            uint8_t *reply);

/* The Internet checksum (RFC 1071) over data, folded, starting from sum. */
uint16_t wt_inet_checksum(const uint8_t *data, uint32_t len, uint32_t sum);

#endif
