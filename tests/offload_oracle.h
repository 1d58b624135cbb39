/* SPDX-License-Identifier: MIT
 *
 * What test_offload.c and fuzz_offload.c check the splitter and the coalescer against, with an
 * implementation of their own: the Internet checksum one 16-bit big-endian word at a time (RFC
 * 1071, not driver/offload.c's native-order sum), packet builders, and the oracle of a plan of
 * writes: each packet in exactly one write, the packets of a flow in their order, and every merged
 * write cut back by the splitter into exactly the packets it was made of.
 */
#ifndef WINTUN_OFFLOAD_ORACLE_H
#define WINTUN_OFFLOAD_ORACLE_H

#include "offload.h"

#include <stdint.h>
#include <string.h>

/* The folded ones' complement sum of n bytes, as a big-endian value, added to acc. */
static inline uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i < n; i += 2) {
        acc += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    return acc;
}

/* The pseudo-header sum of an IP packet's upper layer (length bytes of protocol). */
static inline uint32_t ref_pseudo(const uint8_t *ip, uint8_t protocol, uint32_t length)
{
    uint8_t buf[40];
    size_t n;
    if ((ip[0] >> 4) == 4) {
        memcpy(buf, ip + 12, 8);
        buf[8] = 0;
        buf[9] = protocol;
        buf[10] = (uint8_t)(length >> 8);
        buf[11] = (uint8_t)length;
        n = 12;
    } else {
        memcpy(buf, ip + 8, 32);
        buf[32] = (uint8_t)(length >> 24);
        buf[33] = (uint8_t)(length >> 16);
        buf[34] = (uint8_t)(length >> 8);
        buf[35] = (uint8_t)length;
        buf[36] = buf[37] = buf[38] = 0;
        buf[39] = protocol;
        n = 40;
    }
    return ref_sum(buf, n, 0);
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Whether an IPv4 packet's header checksum holds (1 for IPv6, which has none). */
static inline int ref_ip_valid(const uint8_t *ip)
{
    return (ip[0] >> 4) != 4 || ref_sum(ip, (ip[0] & 15u) * 4, 0) == 0xFFFF;
}

/* Whether the TCP or UDP checksum of a packet whose transport header is at l4 holds. */
static inline int ref_l4_valid(const uint8_t *ip, uint32_t size, uint32_t l4, uint8_t protocol)
{
    return ref_sum(ip + l4, size - l4, ref_pseudo(ip, protocol, size - l4)) == 0xFFFF;
}

/* Finishes the IPv4 header checksum and the TCP/UDP checksum of a packet the builders made. */
static inline void ref_fill(uint8_t *ip, uint32_t size, uint32_t l4, uint8_t protocol)
{
    if ((ip[0] >> 4) == 4) {
        wr16(ip + 10, 0);
        wr16(ip + 10, 0xFFFF - ref_sum(ip, l4, 0));
    }
    uint8_t *check = ip + l4 + (protocol == 6 ? 16 : 6);
    wr16(check, 0);
    uint16_t c = (uint16_t)(0xFFFF - ref_sum(ip + l4, size - l4, ref_pseudo(ip, protocol, size - l4)));
    wr16(check, c || protocol == 6 ? c : 0xFFFF);
}

struct ref_flow
{
    int version;     /* 4 or 6 */
    uint8_t protocol; /* 6 or 17 */
    uint16_t sport, dport;
    uint8_t host;    /* the last byte of the source address */
};

/* An IP packet of a flow into out: IPv4 (DF, TTL 64, id) or IPv6 (hop limit 64), TCP (ack
 * 0x01020304, window 512, options bytes of NOPs) or UDP, then the payload; valid checksums.
 * Returns its size. */
static inline uint32_t ref_packet(uint8_t *out, const struct ref_flow *f, uint16_t id, uint32_t seq, uint8_t flags,
                                  unsigned options, const uint8_t *payload, uint32_t length)
{
    uint32_t l4 = f->version == 4 ? 20 : 40, th = f->protocol == 6 ? 20 + options : 8;
    uint32_t size = l4 + th + length;
    memset(out, 0, l4 + th);
    if (f->version == 4) {
        out[0] = 0x45;
        wr16(out + 2, size);
        wr16(out + 4, id);
        out[6] = 0x40;
        out[8] = 64;
        out[9] = f->protocol;
        out[12] = 10, out[15] = f->host;
        out[16] = 10, out[19] = 2;
    } else {
        out[0] = 0x60;
        wr16(out + 4, size - 40);
        out[6] = f->protocol;
        out[7] = 64;
        out[8] = 0xFD, out[23] = f->host;
        out[24] = 0xFD, out[39] = 2;
    }
    uint8_t *t = out + l4;
    wr16(t, f->sport);
    wr16(t + 2, f->dport);
    if (f->protocol == 6) {
        t[4] = (uint8_t)(seq >> 24), t[5] = (uint8_t)(seq >> 16), t[6] = (uint8_t)(seq >> 8), t[7] = (uint8_t)seq;
        t[8] = 1, t[9] = 2, t[10] = 3, t[11] = 4;
        t[12] = (uint8_t)((th / 4) << 4);
        t[13] = flags;
        wr16(t + 14, 512);
        memset(t + 20, 1, options); /* NOP */
    } else {
        wr16(t + 4, th + length);
    }
    memcpy(out + l4 + th, payload, length);
    ref_fill(out, size, l4, f->protocol);
    return size;
}

/* Whether a segment the splitter made is the packet it came from: the same bytes but for the
 * checksums, which must hold (a checksum has two forms, 0x0000 and 0xFFFF, and an IPv4 UDP
 * datagram without one gets one). */
static inline int ref_same_bytes(const uint8_t *segment, const uint8_t *packet, uint32_t size, uint32_t l4, uint8_t protocol)
{
    const uint32_t check = l4 + (protocol == 6 ? 16 : 6);
    const uint32_t ip_check = (segment[0] >> 4) == 4 ? 10 : size;
    for (uint32_t i = 0; i < size; ++i)
        if (segment[i] != packet[i] && i != ip_check && i != ip_check + 1 && i != check && i != check + 1)
            return 0;
    return ref_ip_valid(segment) && ref_l4_valid(segment, size, l4, protocol);
}

/* Whether two packets are of one flow by version, addresses, protocol and ports (both must have
 * them: packets without are not compared). */
static inline int ref_same_flow(const wt_packet *a, const wt_packet *b)
{
    const uint8_t *pa = a->data, *pb = b->data;
    if (a->size < 40 || b->size < 40 || (pa[0] >> 4) != (pb[0] >> 4))
        return 0;
    if ((pa[0] >> 4) == 4) {
        const uint32_t la = (pa[0] & 15u) * 4, lb = (pb[0] & 15u) * 4;
        return la >= 20 && lb >= 20 && la + 4 <= a->size && lb + 4 <= b->size && pa[9] == pb[9] &&
               !memcmp(pa + 12, pb + 12, 8) && !memcmp(pa + la, pb + lb, 4);
    }
    return (pa[0] >> 4) == 6 && a->size >= 44 && b->size >= 44 && pa[6] == pb[6] && !memcmp(pa + 8, pb + 8, 32) &&
           !memcmp(pa + 40, pb + 40, 4);
}

/* The oracle of a plan (see above). Returns the number of failed checks (0: all hold); buf needs
 * WT_GSO_MAX_SIZE + WT_VNET_HDR_LEN bytes and seg 0x10000. */
static inline int ref_check_plan(const wt_gro *gro, const wt_packet *packets, uint32_t n, uint8_t *buf, uint8_t *seg)
{
    int failures = 0;
    uint8_t seen[WT_RECEIVE_BATCH] = { 0 };
    uint32_t order[WT_RECEIVE_BATCH], placed = 0;
    for (uint32_t w = 0; w < gro->count; ++w) {
        const wt_gro_write *write = &gro->writes[w];
        uint32_t members = 0, size = write->count > 1 ? write->headers : 0;
        for (uint32_t i = write->first;; i = gro->next[i]) {
            if (i >= n || seen[i]++) {
                ++failures; /* outside the batch, or in two writes */
                break;
            }
            order[placed++] = i;
            ++members;
            if (write->count > 1) {
                uint32_t length;
                const uint8_t *payload = wt_gro_payload(write, &packets[i], &length);
                if (size + length > WT_GSO_MAX_SIZE) {
                    ++failures;
                    break;
                }
                memcpy(buf + WT_VNET_HDR_LEN + size, payload, length);
                size += length;
            }
            if (i == write->last)
                break;
        }
        if (members != write->count || write->count > WT_GRO_MAX_SEGMENTS)
            ++failures;
        if (write->count < 2 || members != write->count)
            continue;
        if (size != write->size)
            ++failures;
        /* The merged write, cut back: exactly its packets. */
        memcpy(buf, &write->vnet, WT_VNET_HDR_LEN);
        memcpy(buf + WT_VNET_HDR_LEN, write->header, write->headers);
        wt_gso gso;
        if (wt_gso_parse(&gso, &write->vnet, buf + WT_VNET_HDR_LEN, size) || gso.count != write->count) {
            ++failures;
            continue;
        }
        uint32_t k = 0;
        for (uint32_t i = write->first;; i = gro->next[i], ++k) {
            uint32_t length = wt_gso_segment_size(&gso, k);
            wt_gso_segment(&gso, k, seg);
            if (length != packets[i].size || !ref_same_bytes(seg, packets[i].data, length, write->l4, write->protocol))
                ++failures;
            if (i == write->last)
                break;
        }
    }
    if (placed != n)
        ++failures;
    /* Within a flow, order is kept: no packet is placed after one that came later in the batch. */
    for (uint32_t a = 0; a < placed; ++a)
        for (uint32_t b = a + 1; b < placed; ++b)
            if (order[b] < order[a] && ref_same_flow(&packets[order[a]], &packets[order[b]]))
                ++failures;
    return failures;
}

#endif
