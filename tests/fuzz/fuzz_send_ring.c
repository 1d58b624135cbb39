/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: the client's Send-ring parser (csrc/core/session.c: WintunReceivePacket(s) and the
 * release path) over whatever a hostile driver leaves in the ring. Input: u32 Tail, then the
 * ring's data. Each input gets a fresh session on an emulated adapter.
 */
#include "helpers.h"

static BOOL CALLBACK take(void *context, const BYTE *packet, DWORD size)
{
    volatile BYTE sink = size ? packet[size - 1] : 0;
    (void)sink;
    return ++*(int *)context % 3 != 0; /* decline now and then */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static WINTUN_ADAPTER_HANDLE adapter;
    if (size < 4)
        return 0;
    if (!adapter)
        adapter = WintunCreateAdapterEx(L"fuzz-send", L"Fuzz", NULL, WINTUN_BACKEND_EMULATED);
    WINTUN_SESSION_HANDLE s = WintunStartSession(adapter, TUN_MIN_RING_CAPACITY);
    if (!s)
        abort();
    TUN_RING *ring = wt_session_send_ring(s);
    uint32_t tail;
    memcpy(&tail, data, 4);
    size_t body = size - 4 < TUN_MIN_RING_CAPACITY + TUN_RING_TRAILING_BYTES ? size - 4 : TUN_MIN_RING_CAPACITY + TUN_RING_TRAILING_BYTES;
    memcpy(ring->Data, data + 4, body);
    tun_store_release(&ring->Tail, tail);
    int calls = 0;
    BYTE *held[4];
    for (int round = 0; round < 64; ++round) {
        DWORD n = 0, got;
        if (round & 1) {
            n = WintunReceivePackets(s, take, &calls, 8);
        } else {
            for (int i = 0; i < 4; ++i) {
                held[i] = WintunReceivePacket(s, &got);
                if (!held[i])
                    break;
                if (got > TUN_MAX_IP_PACKET_SIZE)
                    abort();
                volatile BYTE sink = got ? held[i][got - 1] : 0;
                (void)sink;
                ++n;
            }
            for (DWORD i = n; i-- > 0;)
                WintunReleaseReceivePacket(s, held[i]); /* out of order */
        }
        if (!n)
            break;
    }
    WintunEndSession(s);
    return 0;
}
