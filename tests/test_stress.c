/* SPDX-License-Identifier: MIT
 *
 * Concurrency stress through an emulated pair, bounded in count and time (run plain, under
 * ASan+UBSan and under TSan):
 * - several sender threads on A (sending out of order in pairs) and several receiver threads on
 *   B (releasing out of order): every packet arrives exactly once, and each receiver sees each
 *   sender's packets in allocation order; meanwhile a watcher checks that every statistics
 *   snapshot is consistent (no packet without its bytes, nothing delivered before it is counted);
 * - a ping-pong with idle gaps: both sides sleep on the read event between packets, so a lost
 *   wake-up shows as a stall. No round may take longer than STALL_MS.
 */
#include "helpers.h"

#include <pthread.h>

#define SENDERS 3
#define RECEIVERS 2
#define PACKETS_PER_SENDER 30000
#define TIME_LIMIT_NS (30ULL * 1000000000ULL)
#define STALL_MS 100
#define PING_ROUNDS 400

static WINTUN_SESSION_HANDLE sa, sb;
static uint8_t seen[SENDERS][PACKETS_PER_SENDER];
static int duplicates, out_of_order, corrupt;
static uint64_t received_total;
static volatile int senders_done;
static uint64_t deadline;

static void stamp(BYTE *p, uint32_t size, uint32_t sender, uint32_t seq)
{
    make_ipv4(p, size, seq);
    p[20] = (BYTE)sender;
    for (uint32_t i = 28; i < size; ++i)
        p[i] = (BYTE)(seq + i);
}

static void *sender(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    uint32_t seq = 0;
    while (seq < PACKETS_PER_SENDER && wt_monotonic_ns() < deadline) {
        uint32_t size1 = 28 + (seq * 7 + id) % 200, size2 = 28 + (seq * 13) % 1400;
        BYTE *p1 = WintunAllocateSendPacket(sa, size1);
        if (!p1) {
            CHECK(GetLastError() == ERROR_BUFFER_OVERFLOW);
            wt_yield();
            continue;
        }
        BYTE *p2 = seq + 1 < PACKETS_PER_SENDER ? WintunAllocateSendPacket(sa, size2) : NULL;
        stamp(p1, size1, id, seq);
        if (p2) {
            stamp(p2, size2, id, seq + 1);
            WintunSendPacket(sa, p2); /* out of order: held back until p1 is sent */
        }
        WintunSendPacket(sa, p1);
        seq += p2 ? 2 : 1;
    }
    return NULL;
}

static void check_packet(const BYTE *p, DWORD size, uint32_t *last_seq)
{
    uint32_t id = p[20], seq = packet_seq(p);
    if (size < 28 || id >= SENDERS || seq >= PACKETS_PER_SENDER) {
        __atomic_add_fetch(&corrupt, 1, __ATOMIC_RELAXED);
        return;
    }
    for (uint32_t i = 28; i < size; ++i) {
        if (p[i] != (BYTE)(seq + i)) {
            __atomic_add_fetch(&corrupt, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    if (__atomic_exchange_n(&seen[id][seq], 1, __ATOMIC_RELAXED))
        __atomic_add_fetch(&duplicates, 1, __ATOMIC_RELAXED);
    if (last_seq[id] != UINT32_MAX && seq <= last_seq[id])
        __atomic_add_fetch(&out_of_order, 1, __ATOMIC_RELAXED);
    last_seq[id] = seq;
    __atomic_add_fetch(&received_total, 1, __ATOMIC_RELEASE);
}

static void *receiver(void *arg)
{
    (void)arg;
    uint32_t last_seq[SENDERS];
    for (int i = 0; i < SENDERS; ++i)
        last_seq[i] = UINT32_MAX;
    HANDLE ev = WintunGetReadWaitEvent(sb);
    BYTE *held = NULL;
    for (;;) {
        DWORD size;
        BYTE *p = WintunReceivePacket(sb, &size);
        if (p) {
            check_packet(p, size, last_seq);
            /* Release in pairs, the second first. */
            if (held) {
                WintunReleaseReceivePacket(sb, p);
                WintunReleaseReceivePacket(sb, held);
                held = NULL;
            } else {
                held = p;
            }
            continue;
        }
        if (held) {
            WintunReleaseReceivePacket(sb, held);
            held = NULL;
        }
        DWORD err = GetLastError();
        if (err != ERROR_NO_MORE_ITEMS) {
            CHECK(err == ERROR_HANDLE_EOF);
            return NULL;
        }
        if (__atomic_load_n(&received_total, __ATOMIC_RELAXED) == (uint64_t)SENDERS * PACKETS_PER_SENDER ||
            wt_monotonic_ns() > deadline + 2000000000ULL)
            return NULL;
        WaitForSingleObject(ev, 10);
    }
}

static int receivers_done; /* atomic */
static int inconsistent_stats;

/* Snapshots both adapters' counters while traffic runs. Each packet is at least 28 bytes, so a
 * snapshot with fewer bytes than 28 per packet shows a packet counted without its bytes; and a
 * packet a receiver has seen must already be counted as sent by B. */
static void *stats_watcher(void *arg)
{
    WINTUN_ADAPTER_HANDLE *adapters = arg;
    uint64_t last_received = 0;
    while (!__atomic_load_n(&receivers_done, __ATOMIC_ACQUIRE)) {
        uint64_t seen_total = __atomic_load_n(&received_total, __ATOMIC_ACQUIRE);
        WINTUN_ADAPTER_STATISTICS sta, stb;
        if (!WintunGetAdapterStatistics(adapters[0], &sta) || !WintunGetAdapterStatistics(adapters[1], &stb))
            ++inconsistent_stats;
        else if (sta.ReceiveBytes < 28 * sta.ReceivePackets || stb.SendBytes < 28 * stb.SendPackets ||
                 stb.SendPackets < seen_total || sta.ReceivePackets < last_received)
            ++inconsistent_stats;
        last_received = sta.ReceivePackets;
        wt_yield();
    }
    return NULL;
}

static void test_many_senders_many_receivers(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"stress-a"), b = emulated_adapter(L"stress-b");
    CHECK(WintunEmulatedConnect(a, b));
    sa = WintunStartSession(a, 0x20000); /* small rings: lots of wrap-around and flow control */
    sb = WintunStartSession(b, 0x20000);
    deadline = wt_monotonic_ns() + TIME_LIMIT_NS;
    pthread_t s[SENDERS], r[RECEIVERS], w;
    WINTUN_ADAPTER_HANDLE pair[2] = { a, b };
    pthread_create(&w, NULL, stats_watcher, pair);
    for (uintptr_t i = 0; i < RECEIVERS; ++i)
        pthread_create(&r[i], NULL, receiver, NULL);
    for (uintptr_t i = 0; i < SENDERS; ++i)
        pthread_create(&s[i], NULL, sender, (void *)i);
    for (int i = 0; i < SENDERS; ++i)
        pthread_join(s[i], NULL);
    for (int i = 0; i < RECEIVERS; ++i)
        pthread_join(r[i], NULL);
    __atomic_store_n(&receivers_done, 1, __ATOMIC_RELEASE);
    pthread_join(w, NULL);
    CHECK(inconsistent_stats == 0);
    uint64_t missing = 0;
    for (int i = 0; i < SENDERS; ++i)
        for (int k = 0; k < PACKETS_PER_SENDER; ++k)
            missing += !seen[i][k];
    printf("  %llu packets, %llu missing, %d duplicates, %d out of order, %d corrupt\n",
           (unsigned long long)received_total, (unsigned long long)missing, duplicates, out_of_order, corrupt);
    CHECK(wt_monotonic_ns() < deadline); /* finished within the time limit */
    CHECK(missing == 0);
    CHECK(duplicates == 0);
    CHECK(out_of_order == 0);
    CHECK(corrupt == 0);
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st) && st.ReceiveDrops == 0 && st.ReceiveDiscards == 0);
    CHECK(st.ReceivePackets == (uint64_t)SENDERS * PACKETS_PER_SENDER);
    CHECK(WintunGetAdapterStatistics(b, &st) && st.SendDrops == 0);
    WintunEndSession(sa);
    WintunEndSession(sb);
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
}

/* Waits for one packet, sleeping on the event; returns it or NULL after timeout_ms. */
static BYTE *wait_one(WINTUN_SESSION_HANDLE s, DWORD *size, DWORD timeout_ms)
{
    return receive_wait(s, size, timeout_ms);
}

static uint32_t rounds_done;
static uint64_t max_rtt_ns;
static int stalls;

static void *ponger(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < PING_ROUNDS; ++i) {
        DWORD size;
        BYTE *p = wait_one(sb, &size, 5000);
        if (!p) {
            __atomic_add_fetch(&stalls, 1, __ATOMIC_RELAXED);
            return NULL;
        }
        uint32_t seq = packet_seq(p);
        WintunReleaseReceivePacket(sb, p);
        BYTE *q;
        while (!(q = WintunAllocateSendPacket(sb, 40)))
            wt_yield();
        make_ipv4(q, 40, seq);
        WintunSendPacket(sb, q);
    }
    return NULL;
}

static void test_ping_pong_no_lost_wakeup(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"ping-a"), b = emulated_adapter(L"ping-b");
    CHECK(WintunEmulatedConnect(a, b));
    sa = WintunStartSession(a, 0x20000);
    sb = WintunStartSession(b, 0x20000);
    pthread_t t;
    pthread_create(&t, NULL, ponger, NULL);
    uint64_t rng = 12345, total = 0;
    uint64_t *rtts = calloc(PING_ROUNDS, sizeof(uint64_t));
    for (uint32_t i = 0; i < PING_ROUNDS; ++i) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t gap_us = (uint32_t)(rng >> 33) % 1500; /* idle: both sides go to sleep */
        if (gap_us > 300)
            wt_sleep_us(gap_us);
        uint64_t t0 = wt_monotonic_ns();
        while (!send_ipv4(sa, 40, i))
            wt_yield();
        DWORD size;
        BYTE *p = wait_one(sa, &size, 5000);
        uint64_t rtt = wt_monotonic_ns() - t0;
        if (!p || packet_seq(p) != i) {
            ++stalls;
            break;
        }
        WintunReleaseReceivePacket(sa, p);
        rtts[i] = rtt;
        total += rtt;
        if (rtt > max_rtt_ns)
            max_rtt_ns = rtt;
        ++rounds_done;
    }
    pthread_join(t, NULL);
    uint64_t over = 0;
    for (uint32_t i = 0; i < rounds_done; ++i)
        over += rtts[i] > 2000000ULL;
    printf("  %u rounds, mean %.1f us, max %.2f ms, %llu rounds over 2 ms, %d stalls\n", rounds_done,
           rounds_done ? (double)total / rounds_done / 1000.0 : 0.0, (double)max_rtt_ns / 1e6, (unsigned long long)over,
           stalls);
    free(rtts);
    CHECK(stalls == 0);
    CHECK(rounds_done == PING_ROUNDS);
    CHECK(max_rtt_ns < STALL_MS * 1000000ULL);
    WintunEndSession(sa);
    WintunEndSession(sb);
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
}

/* Sessions started and ended while traffic flows, and adapters closed under it. */
static void *inject_loop(void *arg)
{
    WINTUN_ADAPTER_HANDLE a = arg;
    BYTE pkt[40];
    make_ipv4(pkt, 40, 0);
    uint64_t until = wt_monotonic_ns() + 1000000000ULL;
    while (wt_monotonic_ns() < until)
        WintunEmulatedInjectPacket(a, pkt, 40);
    return NULL;
}

static void test_session_churn(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"churn");
    pthread_t t;
    pthread_create(&t, NULL, inject_loop, a);
    for (int i = 0; i < 200; ++i) {
        WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
        CHECK(s != NULL);
        for (int k = 0; k < 10; ++k) {
            DWORD size;
            BYTE *p = WintunReceivePacket(s, &size);
            if (p)
                WintunReleaseReceivePacket(s, p);
            send_ipv4(s, 40, (uint32_t)k);
        }
        WintunEndSession(s);
    }
    pthread_join(t, NULL);
    WintunCloseAdapter(a);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_many_senders_many_receivers);
    RUN(test_ping_pong_no_lost_wakeup);
    RUN(test_session_churn);
    return test_summary();
}
