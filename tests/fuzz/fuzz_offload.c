/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: the TUN offloads' splitter and coalescer (driver/offload.c) over hostile bytes.
 * The first byte chooses:
 *   even: a super-packet (a 10-byte virtio-net header, then the packet) is split; every segment
 *         of one the parser took must be at most 64 KiB and carry valid checksums, as
 *         tests/offload_oracle.h's own checksum sees them;
 *   odd:  a batch of packets (each a 2-byte little-endian length, then its bytes) is planned
 *         (bit 1: with UDP; bit 2: the checksums of each packet made valid first, so that the
 *         fuzzer reaches the header comparisons) and the plan must satisfy the oracle: every packet in one write, each
 *         flow in its order, every merged write cut back into exactly its packets.
 * Each packet is a heap block of its exact size, so that ASan sees a read past it.
 */
#include "offload_oracle.h"

#include <stdlib.h>
#include <string.h>

static uint8_t buf[0x20000], seg[0x10000];

static void split(const uint8_t *data, size_t size)
{
    if (size < WT_VNET_HDR_LEN || size - WT_VNET_HDR_LEN > WT_GSO_MAX_SIZE)
        return;
    wt_vnet_hdr hdr;
    memcpy(&hdr, data, WT_VNET_HDR_LEN);
    const uint32_t length = (uint32_t)(size - WT_VNET_HDR_LEN);
    uint8_t *packet = malloc(length ? length : 1);
    memcpy(packet, data + WT_VNET_HDR_LEN, length);
    wt_gso gso;
    if (!wt_gso_parse(&gso, &hdr, packet, length)) {
        for (uint32_t i = 0; i < gso.count; ++i) {
            uint32_t n = wt_gso_segment_size(&gso, i);
            if (n > WT_GSO_MAX_SIZE || n < gso.headers)
                abort();
            wt_gso_segment(&gso, i, seg);
            if (!ref_ip_valid(seg) || !ref_l4_valid(seg, n, gso.l4, gso.protocol))
                abort();
        }
    }
    if (hdr.gso_type == WT_VNET_GSO_NONE && length)
        wt_csum_complete(packet, length, &hdr);
    free(packet);
}

/* Valid IPv4 header and TCP/UDP checksums for a packet whose headers are all there. */
static void fix_checksums(uint8_t *p, uint32_t size)
{
    if (size < 40)
        return;
    const unsigned version = p[0] >> 4;
    const uint32_t l4 = version == 4 ? (p[0] & 15u) * 4 : 40;
    const uint8_t protocol = version == 4 ? p[9] : p[6];
    if ((version != 4 && version != 6) || l4 < 20 || (protocol != 6 && protocol != 17) ||
        l4 + (protocol == 6 ? 20u : 8u) > size)
        return;
    ref_fill(p, size, l4, protocol);
}

static void plan(const uint8_t *data, size_t size, unsigned flags, int fix)
{
    wt_packet packets[WT_RECEIVE_BATCH];
    uint32_t n = 0;
    while (size >= 2 && n < WT_RECEIVE_BATCH) {
        uint32_t length = data[0] | (uint32_t)data[1] << 8;
        data += 2, size -= 2;
        if (length > size)
            length = (uint32_t)size;
        uint8_t *copy = malloc(length ? length : 1);
        memcpy(copy, data, length);
        if (fix)
            fix_checksums(copy, length);
        packets[n++] = (wt_packet){ copy, length };
        data += length, size -= length;
    }
    static wt_gro gro;
    if (wt_gro_plan(&gro, packets, n, flags) != n || ref_check_plan(&gro, packets, n, buf, seg))
        abort();
    for (uint32_t i = 0; i < n; ++i)
        free((void *)packets[i].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    if (data[0] & 1)
        plan(data + 1, size - 1, WT_GRO_TCP | (data[0] & 2 ? WT_GRO_UDP : 0), data[0] & 4);
    else
        split(data + 1, size - 1);
    return 0;
}
