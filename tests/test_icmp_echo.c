/* SPDX-License-Identifier: MIT
 *
 * The emulated stack's echo responder: checksums, IPv4 and IPv6 replies, and refusals.
 */
#include "helpers.h"
#include "icmp_echo.h"


static void test_checksum(void)
{
    /* RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d. */
    const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    CHECK(wt_inet_checksum(data, 8, 0) == 0x220d);
    const uint8_t odd[] = { 0x01 };
    CHECK(wt_inet_checksum(odd, 1, 0) == (uint16_t)~0x0100);
}

static const WINTUN_ADDRESS addrs[] = {
    { .Family = AF_INET, .PrefixLength = 24, .Address = { 192, 0, 2, 1 } },
    { .Family = AF_INET6, .PrefixLength = 64, .Address = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
};

static uint32_t echo6(uint8_t *p, uint16_t payload_len)
{
    memset(p, 0, 40 + payload_len);
    p[0] = 0x60, p[4] = (uint8_t)(payload_len >> 8), p[5] = (uint8_t)payload_len, p[6] = 58, p[7] = 255;
    p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 2; /* 2001:db8::2 */
    memcpy(p + 24, addrs[1].Address, 16);
    p[40] = 128;
    for (uint16_t i = 8; i < payload_len; ++i)
        p[40 + i] = (uint8_t)i;
    uint32_t sum = 0;
    for (int i = 8; i < 40; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    sum += payload_len + 58;
    uint16_t c = wt_inet_checksum(p + 40, payload_len, sum);
    p[42] = (uint8_t)(c >> 8), p[43] = (uint8_t)c;
    return 40u + payload_len;
}

static void test_ipv6_reply(void)
{
    uint8_t req[200], reply[200];
    uint32_t n = echo6(req, 64);
    CHECK(wt_icmp_echo_reply(req, n, addrs, 2, reply) == n);
    CHECK(reply[40] == 129 && !memcmp(reply + 8, addrs[1].Address, 16) && reply[39] == 2);
    /* The reply's checksum verifies. */
    uint32_t sum = 0;
    for (int i = 8; i < 40; i += 2)
        sum += (uint32_t)(reply[i] << 8 | reply[i + 1]);
    CHECK(wt_inet_checksum(reply + 40, 64, sum + 64 + 58) == 0);
    /* Refusals: wrong checksum, not for us, truncated, not a request. */
    req[50] ^= 1;
    CHECK(wt_icmp_echo_reply(req, n, addrs, 2, reply) == 0);
    req[50] ^= 1;
    CHECK(wt_icmp_echo_reply(req, n, addrs, 1, reply) == 0);
    CHECK(wt_icmp_echo_reply(req, n - 1, addrs, 2, reply) == 0);
    req[40] = 129;
    CHECK(wt_icmp_echo_reply(req, n, addrs, 2, reply) == 0);
}

static void test_ipv4_refusals(void)
{
    uint8_t p[64] = { 0x45, 0, 0, 28, 0, 0, 0x20, 0, 64, 1, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1, 8 };
    uint8_t reply[64];
    uint16_t c = wt_inet_checksum(p + 20, 8, 0);
    p[22] = (uint8_t)(c >> 8), p[23] = (uint8_t)c;
    CHECK(wt_icmp_echo_reply(p, 28, addrs, 2, reply) == 0); /* a fragment (MF set) */
    p[6] = 0;
    CHECK(wt_icmp_echo_reply(p, 28, addrs, 2, reply) == 28);
    p[0] = 0x44; /* IHL 16 bytes: invalid */
    CHECK(wt_icmp_echo_reply(p, 28, addrs, 2, reply) == 0);
    p[0] = 0x45, p[3] = 60; /* total length past the buffer */
    CHECK(wt_icmp_echo_reply(p, 28, addrs, 2, reply) == 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_checksum);
    RUN(test_ipv6_reply);
    RUN(test_ipv4_refusals);
    return test_summary();
}
