/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: the emulated OS side's echo responder (driver/emulated/icmp_echo.c) over any packet a client
 * may write. The packet is a heap block of its exact size.
 */
#include "ring.h"
#include "icmp_echo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TUN_MAX_IP_PACKET_SIZE)
        return 0;
    static const WINTUN_ADDRESS addresses[2] = {
        { .Family = AF_INET, .Address = { 10, 0, 0, 2 }, .PrefixLength = 24 },
        { .Family = AF_INET6, .Address = { 0xfd, 0, [15] = 2 }, .PrefixLength = 64 },
    };
    uint8_t *packet = malloc(size ? size : 1);
    memcpy(packet, data, size);
    static uint8_t reply[TUN_MAX_IP_PACKET_SIZE];
    uint32_t n = wt_icmp_echo_reply(packet, (uint32_t)size, addresses, 2, reply);
    if (n > size)
        abort(); /* a reply is the request (up to its IP length), turned around */
    free(packet);
    return 0;
}
