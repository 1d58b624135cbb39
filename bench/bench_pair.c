/* SPDX-License-Identifier: MIT
 *
 * Packets per second through the session API between two threads over an emulated pair
 * (sender: WintunAllocateSendPacket + memcpy + WintunSendPacket on A; receiver:
 * WintunReceivePacket + memcpy + WintunReleaseReceivePacket on B; A's driver thread moves the
 * packets between the rings), beside a plain C SPSC ring of the same layout doing the same
 * copies, measured in the same run. Prints medians and the ratio; no pass/fail.
 *
 *   bench_pair [--seconds S] [--repeat N]
 */
#include "platform.h"
#include "ring.h"
#include "wintun_ext.h"
#include "emulated.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAPACITY 0x400000u

static double seconds = 1.0;
static int repeat = 3;

struct run
{
    uint32_t size;
    uint32_t publish_every; /* baseline: publish Tail/Head every N packets (1 = per packet) */
    volatile int stop;
    uint64_t packets;
    /* baseline ring */
    TUN_RING *ring;
    /* wintun */
    WINTUN_SESSION_HANDLE sa, sb;
};

static void fill_packet(uint8_t *p, uint32_t size)
{
    memset(p, 0xAB, size);
    p[0] = 0x45; /* IPv4, so the driver passes it */
}

/* ---- baseline: a plain SPSC ring, Wintun layout, cached remote index, per-packet publish ---- */

static void *baseline_producer(void *arg)
{
    struct run *r = arg;
    TUN_RING *ring = r->ring;
    uint8_t packet[2048];
    fill_packet(packet, r->size);
    const uint32_t space = tun_packet_space(r->size);
    uint32_t tail = 0, head = 0, pending = 0;
    while (!r->stop) {
        if (tun_ring_free(head, tail, CAPACITY) < space) {
            tun_store_release(&ring->Tail, tail); /* full: publish what is pending */
            pending = 0;
            head = tun_load_acquire(&ring->Head);
            if (tun_ring_free(head, tail, CAPACITY) < space)
                continue;
        }
        TUN_PACKET *p = tun_ring_packet(ring, tail);
        p->Size = r->size;
        memcpy(p->Data, packet, r->size);
        tail = TUN_RING_WRAP(tail + space, CAPACITY);
        if (++pending >= r->publish_every) {
            tun_store_release(&ring->Tail, tail);
            pending = 0;
        }
    }
    return NULL;
}

static void *baseline_consumer(void *arg)
{
    struct run *r = arg;
    TUN_RING *ring = r->ring;
    uint8_t out[0x10000];
    uint32_t head = 0, tail = 0, pending = 0;
    uint64_t n = 0;
    while (!r->stop) {
        if (head == tail) {
            tun_store_release(&ring->Head, head); /* caught up: publish what is pending */
            pending = 0;
            tail = tun_load_acquire(&ring->Tail);
            if (head == tail)
                continue;
        }
        const TUN_PACKET *p = tun_ring_packet(ring, head);
        memcpy(out, p->Data, p->Size);
        head = TUN_RING_WRAP(head + tun_packet_space(p->Size), CAPACITY);
        if (++pending >= r->publish_every) {
            tun_store_release(&ring->Head, head);
            pending = 0;
        }
        ++n;
    }
    r->packets = n;
    return NULL;
}

/* ---- the session API over an emulated pair ---- */

static void *wintun_sender(void *arg)
{
    struct run *r = arg;
    uint8_t packet[2048];
    fill_packet(packet, r->size);
    while (!r->stop) {
        BYTE *p = WintunAllocateSendPacket(r->sa, r->size);
        if (!p) {
            wt_yield(); /* ring full: let the driver thread run */
            continue;
        }
        memcpy(p, packet, r->size);
        WintunSendPacket(r->sa, p);
    }
    return NULL;
}

static void *wintun_receiver(void *arg)
{
    struct run *r = arg;
    uint8_t out[0x10000];
    HANDLE ev = WintunGetReadWaitEvent(r->sb);
    uint64_t n = 0;
    while (!r->stop) {
        DWORD size;
        BYTE *p = WintunReceivePacket(r->sb, &size);
        if (p) {
            memcpy(out, p, size);
            WintunReleaseReceivePacket(r->sb, p);
            ++n;
            continue;
        }
        if (GetLastError() != ERROR_NO_MORE_ITEMS)
            break;
        WaitForSingleObject(ev, 10);
    }
    r->packets = n;
    return NULL;
}

static double measure(void *(*producer)(void *), void *(*consumer)(void *), struct run *r)
{
    pthread_t p, c;
    r->stop = 0;
    r->packets = 0;
    pthread_create(&c, NULL, consumer, r);
    pthread_create(&p, NULL, producer, r);
    uint64_t t0 = wt_monotonic_ns();
    wt_sleep_us((uint32_t)(seconds * 1e6));
    r->stop = 1;
    uint64_t elapsed = wt_monotonic_ns() - t0;
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    return (double)r->packets / ((double)elapsed / 1e9) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double run_baseline(uint32_t size, uint32_t publish_every)
{
    struct run r = { .size = size, .publish_every = publish_every };
    r.ring = wt_ring_alloc(TUN_RING_SIZE(CAPACITY));
    double mpps = measure(baseline_producer, baseline_consumer, &r);
    wt_ring_free(r.ring, TUN_RING_SIZE(CAPACITY));
    return mpps;
}

static double run_wintun(uint32_t size, uint64_t *drops)
{
    struct run r = { .size = size };
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapterEx(L"bench-a", L"Bench", NULL, WINTUN_BACKEND_EMULATED);
    WINTUN_ADAPTER_HANDLE b = WintunCreateAdapterEx(L"bench-b", L"Bench", NULL, WINTUN_BACKEND_EMULATED);
    if (!a || !b || !WintunEmulatedConnect(a, b)) {
        fprintf(stderr, "cannot set up the emulated pair: %lu\n", (unsigned long)GetLastError());
        exit(1);
    }
    r.sa = WintunStartSession(a, CAPACITY);
    r.sb = WintunStartSession(b, CAPACITY);
    double mpps = measure(wintun_sender, wintun_receiver, &r);
    WINTUN_ADAPTER_STATISTICS st;
    WintunGetAdapterStatistics(a, &st);
    *drops += st.ReceiveDrops + st.ReceiveDiscards;
    WintunGetAdapterStatistics(b, &st);
    *drops += st.SendDrops;
    WintunEndSession(r.sa);
    WintunEndSession(r.sb);
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
    return mpps;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--seconds S] [--repeat N]\n", argv[0]);
            return 2;
        }
    }
    if (repeat < 1 || repeat > 50 || seconds <= 0 || seconds > 30) {
        fprintf(stderr, "--repeat 1..50, --seconds (0, 30]\n");
        return 2;
    }
    printf("Session API over an emulated pair vs a plain C SPSC ring (same layout, same copies)\n");
    printf("medians of %d runs of %.1f s, interleaved\n\n", repeat, seconds);
    printf("| packet | C SPSC ring, publish per packet (Mpps) | C SPSC ring, publish per 32 (Mpps) | wintun session API (Mpps) | ratio to per-packet | ratio to per-32 | drops |\n");
    printf("|---|---|---|---|---|---|---|\n");
    const uint32_t sizes[] = { 64, 1400 };
    for (int s = 0; s < 2; ++s) {
        double base[50], batched[50], ours[50];
        uint64_t drops = 0;
        for (int i = 0; i < repeat; ++i) {
            base[i] = run_baseline(sizes[s], 1);
            batched[i] = run_baseline(sizes[s], 32);
            ours[i] = run_wintun(sizes[s], &drops);
        }
        double mb = median(base, repeat), m32 = median(batched, repeat), mo = median(ours, repeat);
        printf("| %u B | %.2f | %.2f | %.2f | %.2f | %.2f | %llu |\n", sizes[s], mb, m32, mo, mo / mb, mo / m32,
               (unsigned long long)drops);
    }
    return 0;
}
