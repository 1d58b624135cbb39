/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: the rtnetlink reply parser (driver/kernel/netlink.c) over whatever comes back on the socket:
 * the replies to a link query and to an address dump. The input is copied to a heap block of its
 * exact size, so a read past a message or an attribute is an ASan report.
 */
#include "netlink.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    uint32_t seq = 1; /* the fuzzer finds the sequence number in the corpus */
    DWORD mtu = 0;
    BOOL up = 0;
    WINTUN_ADDRESS addresses[4];
    DWORD count = 4;
    if (data[0] & 1)
        wt_nl_parse_link_replies(copy, size - 1, seq, 7, &mtu, &up);
    else
        wt_nl_parse_address_replies(copy, size - 1, seq, 7, addresses, &count);
    free(copy);
    return 0;
}
