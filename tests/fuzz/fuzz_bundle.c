/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: WriteFile's bundle parser (csrc/core/device_file.c, seed 003's format) over whatever a
 * client writes. A bundle is accepted only if every packet lies inside it, at a 16-byte boundary,
 * behind its header, at most 256 of them and none over 0xEFF0 bytes, with nothing after the last
 * one but its padding; then the packets found are exactly those a writer would have framed.
 */
#include "helpers.h"
#include "device_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        WintunSetLogger(NULL); /* every refusal logs a line */
        quiet = 1;
    }
    if (size > 0x100000)
        return 0;
    const BYTE *packets[TUN_BUNDLE_MAX_PACKETS];
    DWORD sizes[TUN_BUNDLE_MAX_PACKETS], count = 99999;
    DWORD err = wt_bundle_parse(data, (DWORD)size, packets, sizes, &count);
    if (err) {
        if (err != ERROR_INVALID_USER_BUFFER)
            abort();
        return 0;
    }
    if (count > TUN_BUNDLE_MAX_PACKETS || (size && !count))
        abort();
    size_t offset = 0;
    for (DWORD i = 0; i < count; ++i) {
        /* The i-th packet is where a writer puts it: behind its header, at the next boundary. */
        uint32_t header;
        memcpy(&header, data + offset, 4);
        if (packets[i] != data + offset + 16 || sizes[i] != header || sizes[i] > TUN_BUNDLE_MAX_IP_PACKET_SIZE ||
            offset + 16 + sizes[i] > size)
            abort();
        offset += TUN_BUNDLE_ALIGN(16 + sizes[i]);
    }
    if (offset < size) /* only the last packet's padding may be cut, never a packet left out */
        abort();
    return 0;
}
