/* SPDX-License-Identifier: MIT
 *
 * Wintun 0.14's only check of packet contents: the IP version nibble and the minimum header
 * length. Shared by the driver (which discards what fails it) and the bindings (which refuse it).
 */
#ifndef WINTUN_IP_H
#define WINTUN_IP_H

#include <stdint.h>

static inline int wt_is_ip_packet(const uint8_t *data, uint32_t size)
{
    if (size >= 20 && (data[0] >> 4) == 4)
        return 1;
    if (size >= 40 && (data[0] >> 4) == 6)
        return 1;
    return 0;
}

#endif
