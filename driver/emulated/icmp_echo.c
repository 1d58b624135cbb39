/* SPDX-License-Identifier: MIT */
#include "icmp_echo.h"
#include "platform.h"

#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2ipdef.h>
#else
#include <sys/socket.h>
#endif

#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

uint16_t wt_inet_checksum(const uint8_t *data, uint32_t len, uint32_t sum)
{
    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(data[i] << 8 | data[i + 1]);
    if (len & 1)
        sum += (uint32_t)data[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

static int is_local(ADDRESS_FAMILY family, const uint8_t *address, const WINTUN_ADDRESS *addresses, uint32_t count)
{
    uint32_t size = family == AF_INET ? 4 : 16;
    for (uint32_t i = 0; i < count; ++i)
        if (addresses[i].Family == family && !memcmp(addresses[i].Address, address, size))
            return 1;
    return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t reply4(const uint8_t *p, uint32_t len, const WINTUN_ADDRESS *addresses, uint32_t count, uint8_t *out)
{
    uint32_t ihl = (uint32_t)(p[0] & 0x0F) * 4;
    uint32_t total = (uint32_t)(p[2] << 8 | p[3]);
    if (ihl < 20 || total < ihl + 8 || total > len || p[9] != IPPROTO_ICMP_)
        return 0;
    if ((p[6] & 0x3F) || p[7]) /* a fragment */
        return 0;
    if (p[ihl] != 8 || p[ihl + 1] != 0 || !is_local(AF_INET, p + 16, addresses, count))
        return 0;
    if (wt_inet_checksum(p + ihl, total - ihl, 0) != 0)
        return 0;
    memcpy(out, p, total);
    memcpy(out + 12, p + 16, 4);
    memcpy(out + 16, p + 12, 4);
    out[8] = 64;
    put16(out + 10, 0);
    put16(out + 10, wt_inet_checksum(out, ihl, 0));
    out[ihl] = 0; /* echo reply */
    put16(out + ihl + 2, 0);
    put16(out + ihl + 2, wt_inet_checksum(out + ihl, total - ihl, 0));
    return total;
}

static uint16_t checksum6(const uint8_t *ip, const uint8_t *payload, uint32_t len)
{
    uint32_t sum = 0;
    for (int i = 8; i < 40; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    sum += len >> 16;
    sum += len & 0xFFFF;
    sum += IPPROTO_ICMPV6_;
    return wt_inet_checksum(payload, len, sum);
}

static uint32_t reply6(const uint8_t *p, uint32_t len, const WINTUN_ADDRESS *addresses, uint32_t count, uint8_t *out)
{
    uint32_t payload = (uint32_t)(p[4] << 8 | p[5]);
    if (p[6] != IPPROTO_ICMPV6_ || payload < 8 || 40 + payload > len)
        return 0;
    if (p[40] != 128 || p[41] != 0 || !is_local(AF_INET6, p + 24, addresses, count))
        return 0;
    if (checksum6(p, p + 40, payload) != 0)
        return 0;
    uint32_t total = 40 + payload;
    memcpy(out, p, total);
    memcpy(out + 8, p + 24, 16);
    memcpy(out + 24, p + 8, 16);
    out[7] = 64;
    out[40] = 129; /* echo reply */
    put16(out + 42, 0);
    put16(out + 42, checksum6(out, out + 40, payload));
    return total;
}

uint32_t wt_icmp_echo_reply(const uint8_t *packet, uint32_t len, const WINTUN_ADDRESS *addresses, uint32_t count,
                            uint8_t *reply)
{
    if (len >= 28 && (packet[0] >> 4) == 4)
        return reply4(packet, len, addresses, count, reply);
    if (len >= 48 && (packet[0] >> 4) == 6)
        return reply6(packet, len, addresses, count, reply);
    return 0;
}
