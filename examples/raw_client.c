/* SPDX-License-Identifier: MIT
 *
 * A client as Wintun's README of July 2019 describes one (seeds 000 and 002), before wintun.dll:
 * it opens the adapter's device, allocates and registers its own two rings with
 * TUN_IOCTL_REGISTER_RINGS, pushes ICMP echo requests into the Receive ring and pops what the
 * adapter sends out of the Send ring with the Alertable/TailMoved loop, then closes the handle
 * (the driver sets the Send ring's Tail to 0xFFFFFFFF). Then the same through a bundle
 * (seed 003's WriteFile/ReadFile). Built against the public headers alone.
 *
 *   WINTUN_BACKEND=emulated ./raw_client [--count N]
 */
#include "wintun.h"
#include "wintun_device.h"
#include "wintun_ext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <arpa/inet.h>
#include <sys/socket.h>

static const uint8_t adapter_ip[4] = { 10, 6, 8, 7 }, peer_ip[4] = { 10, 6, 8, 8 };

static uint16_t checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An ICMP echo request from the peer to the adapter; its size. */
static uint32_t echo_request(uint8_t *p, uint16_t seq)
{
    static const char payload[] = "raw ring client";
    const uint32_t size = 28 + sizeof(payload);
    memset(p, 0, 28);
    p[0] = 0x45, p[2] = (uint8_t)(size >> 8), p[3] = (uint8_t)size, p[8] = 64, p[9] = 1;
    memcpy(p + 12, peer_ip, 4);
    memcpy(p + 16, adapter_ip, 4);
    uint16_t c = checksum(p, 20);
    p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
    p[20] = 8, p[26] = (uint8_t)(seq >> 8), p[27] = (uint8_t)seq;
    memcpy(p + 28, payload, sizeof(payload));
    c = checksum(p + 20, size - 20);
    p[22] = (uint8_t)(c >> 8), p[23] = (uint8_t)c;
    return size;
}

static int is_reply(const uint8_t *p, uint32_t size, uint16_t *seq)
{
    if (size < 28 || (p[0] >> 4) != 4 || p[9] != 1 || p[20] != 0 || memcmp(p + 12, adapter_ip, 4))
        return 0;
    *seq = (uint16_t)(p[26] << 8 | p[27]);
    return 1;
}

/* ---- the rings, as the seed's client writes them ---- */

static TUN_PACKET *pop_from_ring(TUN_RING *ring, uint32_t capacity)
{
    uint32_t head = ring->Head, tail = __atomic_load_n(&ring->Tail, __ATOMIC_ACQUIRE);
    if (tail >= capacity || head == tail) /* closed, or empty */
        return NULL;
    return (TUN_PACKET *)(ring->Data + head);
}

static void release_in_ring(TUN_RING *ring, uint32_t capacity, TUN_PACKET *packet)
{
    uint32_t next = (uint32_t)((uint8_t *)packet - ring->Data) + TUN_ALIGN(sizeof(TUN_PACKET) + packet->Size);
    __atomic_store_n(&ring->Head, TUN_RING_WRAP(next, capacity), __ATOMIC_RELEASE);
}

static int write_to_ring(TUN_RING *ring, uint32_t capacity, const uint8_t *data, uint32_t size)
{
    uint32_t tail = ring->Tail, head = __atomic_load_n(&ring->Head, __ATOMIC_ACQUIRE);
    uint32_t space = TUN_ALIGN(sizeof(TUN_PACKET) + size);
    if (head >= capacity || space > TUN_RING_WRAP(head - tail - TUN_ALIGNMENT, capacity))
        return 0;
    TUN_PACKET *packet = (TUN_PACKET *)(ring->Data + tail);
    packet->Size = size;
    memcpy(packet->Data, data, size);
    __atomic_store_n(&ring->Tail, TUN_RING_WRAP(tail + space, capacity), __ATOMIC_SEQ_CST);
    return 1;
}

static int rings_flow(HANDLE device, int count)
{
    const uint32_t capacity = 0x20000;
    TUN_REGISTER_RINGS rings = {
        .Send = { TUN_RING_SIZE(capacity), calloc(1, TUN_RING_SIZE(capacity)), CreateEventW(NULL, FALSE, FALSE, NULL) },
        .Receive = { TUN_RING_SIZE(capacity), calloc(1, TUN_RING_SIZE(capacity)), CreateEventW(NULL, FALSE, FALSE, NULL) },
    };
    DWORD bytes, replies = 0;
    if (!DeviceIoControl(device, TUN_IOCTL_REGISTER_RINGS, &rings, sizeof(rings), NULL, 0, &bytes, NULL)) {
        fprintf(stderr, "TUN_IOCTL_REGISTER_RINGS: error %lu\n", (unsigned long)GetLastError());
        return 0;
    }
    printf("rings registered (capacity 0x%x)\n", capacity);
    uint8_t packet[64];
    for (uint16_t seq = 1; seq <= count; ++seq) {
        write_to_ring(rings.Receive.Ring, capacity, packet, echo_request(packet, seq));
        if (__atomic_load_n(&rings.Receive.Ring->Alertable, __ATOMIC_SEQ_CST))
            SetEvent(rings.Receive.TailMoved);
    }
    while (replies < (DWORD)count) {
        TUN_PACKET *next = pop_from_ring(rings.Send.Ring, capacity);
        if (!next) {
            __atomic_store_n(&rings.Send.Ring->Alertable, TRUE, __ATOMIC_SEQ_CST);
            next = pop_from_ring(rings.Send.Ring, capacity);
            if (!next) {
                DWORD r = WaitForSingleObject(rings.Send.TailMoved, 2000);
                __atomic_store_n(&rings.Send.Ring->Alertable, FALSE, __ATOMIC_SEQ_CST);
                if (r != WAIT_OBJECT_0)
                    break;
                continue;
            }
            __atomic_store_n(&rings.Send.Ring->Alertable, FALSE, __ATOMIC_SEQ_CST);
            ResetEvent(rings.Send.TailMoved);
        }
        uint16_t seq;
        if (is_reply(next->Data, next->Size, &seq)) {
            printf("ring: echo reply %u, %u bytes\n", seq, (unsigned)next->Size);
            ++replies;
        }
        release_in_ring(rings.Send.Ring, capacity, next);
    }
    CloseHandle(device); /* unregisters: Tail = 0xFFFFFFFF, then TailMoved */
    printf("handle closed: Send ring Tail 0x%x\n", (unsigned)rings.Send.Ring->Tail);
    CloseHandle(rings.Send.TailMoved);
    CloseHandle(rings.Receive.TailMoved);
    free(rings.Send.Ring); /* only after CloseHandle, as the seed says */
    free(rings.Receive.Ring);
    return replies == (DWORD)count;
}

/* ---- bundles ---- */

static int bundle_flow(HANDLE device, int count)
{
    static uint8_t bundle[TUN_BUNDLE_MIN_READ_SIZE];
    DWORD offset = 0, bytes, replies = 0;
    for (uint16_t seq = 1; seq <= count; ++seq) {
        TUN_BUNDLE_PACKET *p = (TUN_BUNDLE_PACKET *)(bundle + offset);
        memset(p, 0, sizeof(*p));
        p->Size = echo_request(p->Data, seq);
        offset += TUN_BUNDLE_ALIGN(sizeof(*p) + p->Size);
    }
    if (!WriteFile(device, bundle, offset, &bytes, NULL)) {
        fprintf(stderr, "WriteFile: error %lu\n", (unsigned long)GetLastError());
        return 0;
    }
    printf("bundle of %d packets written (%lu bytes)\n", count, (unsigned long)bytes);
    while (replies < (DWORD)count && ReadFile(device, bundle, sizeof(bundle), &bytes, NULL)) {
        for (DWORD at = 0; at + sizeof(TUN_BUNDLE_PACKET) <= bytes;) {
            TUN_BUNDLE_PACKET *p = (TUN_BUNDLE_PACKET *)(bundle + at);
            uint16_t seq;
            if (is_reply(p->Data, p->Size, &seq)) {
                printf("bundle: echo reply %u, %u bytes\n", seq, (unsigned)p->Size);
                ++replies;
            }
            at += TUN_BUNDLE_ALIGN(sizeof(*p) + p->Size);
        }
    }
    CloseHandle(device);
    return replies == (DWORD)count;
}

int main(int argc, char **argv)
{
    int count = 3;
    if (argc == 3 && !strcmp(argv[1], "--count"))
        count = atoi(argv[2]);
    if (count < 1 || count > 200) {
        fprintf(stderr, "usage: %s [--count N (1-200)]\n", argv[0]);
        return 2;
    }
    WINTUN_ADAPTER_HANDLE adapter = WintunCreateAdapter(L"RawDemo", L"Example", NULL);
    if (!adapter) {
        fprintf(stderr, "WintunCreateAdapter: error %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    WINTUN_ADDRESS address = { .Family = AF_INET, .PrefixLength = 24 };
    memcpy(address.Address, adapter_ip, 4);
    WintunAddAdapterAddress(adapter, &address);
    WintunSetAdapterUp(adapter, TRUE);
    NET_LUID luid;
    WintunGetAdapterLUID(adapter, &luid);
    WCHAR path[64];
    swprintf(path, 64, WINTUN_DEVICE_PATH_GLOBAL, (unsigned)luid.Info.NetLuidIndex);
    printf("device %ls\n", path);
    int ok = 1;
    for (int flow = 0; flow < 2 && ok; ++flow) {
        HANDLE device = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                    NULL, OPEN_EXISTING, 0, NULL);
        if (device == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "CreateFileW: error %lu\n", (unsigned long)GetLastError());
            ok = 0;
            break;
        }
        ok = flow ? bundle_flow(device, count) : rings_flow(device, count);
    }
    WINTUN_SESSION_HANDLE session = WintunStartSession(adapter, 0x20000); /* the adapter takes a session again */
    printf("%s; a session afterwards: %s\n", ok ? "every echo request answered" : "FAILED",
           session ? "started" : "failed");
    if (session)
        WintunEndSession(session);
    WintunCloseAdapter(adapter);
    return ok && session ? 0 : 1;
}
