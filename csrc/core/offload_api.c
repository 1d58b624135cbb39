/* SPDX-License-Identifier: MIT
 *
 * WintunSplitSuperPacket (wintun_ext.h): the driver's splitter (driver/offload.c) for a client
 * that has a packet of super-packet mode and a peer that needs the IP packets it stands for.
 */
#include "offload.h"

#include <string.h>

static DWORD split(const BYTE *packet, DWORD size, BYTE *out, DWORD out_size, DWORD *sizes, DWORD *count, DWORD *needed)
{
    if ((!packet && size) || !count || (*count && !sizes) || (out_size && !out))
        return ERROR_INVALID_PARAMETER;
    if (size < WT_VNET_HDR_LEN || size - WT_VNET_HDR_LEN > WT_GSO_MAX_SIZE)
        return ERROR_INVALID_DATA;
    wt_vnet_hdr hdr;
    memcpy(&hdr, packet, WT_VNET_HDR_LEN);
    const uint8_t *ip = packet + WT_VNET_HDR_LEN;
    const uint32_t ip_size = size - WT_VNET_HDR_LEN;
    const DWORD room = *count;
    if (hdr.gso_type == WT_VNET_GSO_NONE) {
        *count = 1;
        *needed = ip_size;
        if (!room || out_size < ip_size)
            return ERROR_INSUFFICIENT_BUFFER;
        memcpy(out, ip, ip_size);
        if ((hdr.flags & WT_VNET_F_NEEDS_CSUM) && !wt_csum_complete(out, ip_size, &hdr))
            return ERROR_INVALID_DATA;
        sizes[0] = ip_size;
        return ERROR_SUCCESS;
    }
    wt_gso gso;
    DWORD err = wt_gso_parse(&gso, &hdr, ip, ip_size);
    if (err)
        return err == ERROR_NOT_SUPPORTED ? ERROR_INVALID_DATA : err;
    uint64_t total = 0;
    for (uint32_t i = 0; i < gso.count; ++i)
        total += wt_gso_segment_size(&gso, i);
    *count = gso.count;
    *needed = (DWORD)total;
    if (room < gso.count || out_size < total)
        return ERROR_INSUFFICIENT_BUFFER;
    for (uint32_t i = 0; i < gso.count; ++i) {
        sizes[i] = wt_gso_segment_size(&gso, i);
        wt_gso_segment(&gso, i, out);
        out += sizes[i];
    }
    return ERROR_SUCCESS;
}

BOOL WINAPI WintunSplitSuperPacket(const BYTE *packet, DWORD size, BYTE *out, DWORD out_size, DWORD *sizes, DWORD *count,
                                   DWORD *needed)
{
    DWORD ignored;
    DWORD err = split(packet, size, out, out_size, sizes, count, needed ? needed : &ignored);
    if (err)
        SetLastError(err);
    return !err;
}
