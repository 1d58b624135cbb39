/* SPDX-License-Identifier: MIT
 *
 * Handles and rundown: stale handles are refused, never followed; teardown races calls in flight
 * from other threads and frees nothing under them; every packet is delivered or counted at
 * teardown; every waiter is woken; logger callbacks may call the API; a forked child leaves the
 * parent's adapters alone.
 */
#include "helpers.h"

#include <pthread.h>
#ifndef _WIN32
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

/* ---- stale handles ---- */

static void test_stale_session_handle(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"stale-session");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    WintunEndSession(s);
    DWORD size;
    SetLastError(0);
    WintunEndSession(s); /* a second EndSession */
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunAllocateSendPacket(s, 40), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunGetReadWaitEvent(s), ERROR_INVALID_HANDLE);
    BYTE junk[64] = { 0 };
    SetLastError(0);
    WintunReleaseReceivePacket(s, junk + 4);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    SetLastError(0);
    WintunSendPacket(s, junk + 4);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    const BYTE *packets[1] = { junk };
    DWORD sizes[1] = { 40 };
    CHECK_ERR(WintunSendPackets(s, packets, sizes, 1), ERROR_INVALID_HANDLE);

    /* A new session takes the slot back: the stale handle still does not reach it. */
    WINTUN_SESSION_HANDLE s2 = WintunStartSession(a, 0x20000);
    CHECK(s2 != NULL && s2 != s);
    CHECK_ERR(WintunAllocateSendPacket(s, 40), ERROR_INVALID_HANDLE);
    WintunEndSession(s);
    CHECK(send_ipv4(s2, 40, 7)); /* untouched by the stale EndSession */
    WintunEndSession(s2);
    WintunCloseAdapter(a);
}

static void test_stale_adapter_handle(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"stale-adapter");
    WintunCloseAdapter(a);
    SetLastError(0);
    WintunCloseAdapter(a); /* a second CloseAdapter */
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_INVALID_HANDLE);
    DWORD mtu;
    CHECK_ERR(WintunGetAdapterMtu(a, &mtu), ERROR_INVALID_HANDLE);
    NET_LUID luid = { .Value = 1 };
    WintunGetAdapterLUID(a, &luid);
    CHECK(luid.Value == 0);
    /* A newer adapter in the same slot is not reached through the old handle. */
    WINTUN_ADAPTER_HANDLE b = emulated_adapter(L"stale-adapter");
    CHECK(b != a);
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_INVALID_HANDLE);
    WintunCloseAdapter(a);
    CHECK(adapter_still_works(b, 3));
    WintunCloseAdapter(b);
}

static void test_values_that_never_were_handles(void)
{
    static const uintptr_t values[] = { 1, 2, 3, 0x10, 0xdeadbeef, (uintptr_t)-1, (uintptr_t)-4, 0x7fff0000ul };
    DWORD size;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); ++i) {
        CHECK_ERR(WintunReceivePacket((WINTUN_SESSION_HANDLE)values[i], &size), ERROR_INVALID_HANDLE);
        CHECK_ERR(WintunStartSession((WINTUN_ADAPTER_HANDLE)values[i], 0x20000), ERROR_INVALID_HANDLE);
    }
    /* A session handle is no adapter handle, and the other way round. */
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"kinds");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK_ERR(WintunStartSession((WINTUN_ADAPTER_HANDLE)(void *)s, 0x20000), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunReceivePacket((WINTUN_SESSION_HANDLE)(void *)a, &size), ERROR_INVALID_HANDLE);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

/* ---- pointers into a packet ---- */

static void test_pointer_into_packet(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"mid-packet");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    BYTE pkt[200];
    make_ipv4(pkt, 200, 1);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 200));
    CHECK(WintunEmulatedInjectPacket(a, pkt, 200));
    DWORD size;
    BYTE *p1 = receive_wait(s, &size, 2000), *p2 = receive_wait(s, &size, 2000);
    CHECK(p1 && p2);
    uint8_t before[200];
    memcpy(before, p1, 200);
    /* 4-aligned pointers inside the first packet, even where its payload could pass for a header. */
    for (uint32_t off = 4; off < 200; off += 4) {
        SetLastError(0);
        WintunReleaseReceivePacket(s, p1 + off);
        CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    }
    CHECK(!memcmp(before, p1, 200)); /* no bit 31 flipped in the payload */
    CHECK(tun_load_acquire(&wt_session_send_ring(s)->Head) == 0);
    WintunReleaseReceivePacket(s, p2); /* the second packet's own pointer is fine */
    WintunReleaseReceivePacket(s, p1);
    CHECK(tun_load_acquire(&wt_session_send_ring(s)->Head) == 2 * 204);

    BYTE *q1 = WintunAllocateSendPacket(s, 100), *q2 = WintunAllocateSendPacket(s, 100);
    CHECK(q1 && q2);
    make_ipv4(q1, 100, 10);
    make_ipv4(q2, 100, 11);
    memcpy(before, q1, 100);
    for (uint32_t off = 4; off < 100; off += 4) {
        SetLastError(0);
        WintunSendPacket(s, q1 + off);
        CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    }
    CHECK(!memcmp(before, q1, 100));
    CHECK(tun_load_acquire(&wt_session_receive_ring(s)->Tail) == 0);
    WintunSendPacket(s, q1);
    WintunSendPacket(s, q2);
    BYTE buf[128];
    DWORD got;
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 10);
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 11);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

/* ---- StartSession against CloseAdapter ---- */

struct start_race
{
    WINTUN_ADAPTER_HANDLE adapter;
    WINTUN_SESSION_HANDLE session;
    DWORD error;
};

static void *start_session_thread(void *arg)
{
    struct start_race *r = arg;
    r->session = WintunStartSession(r->adapter, 0x20000);
    r->error = r->session ? 0 : GetLastError();
    return NULL;
}

static void test_start_session_against_close(void)
{
    for (int i = 0; i < 200; ++i) {
        struct start_race r = { .adapter = emulated_adapter(L"start-close") };
        pthread_t t;
        pthread_create(&t, NULL, start_session_thread, &r);
        if (i & 1)
            wt_yield();
        WintunCloseAdapter(r.adapter);
        pthread_join(t, NULL);
        if (r.session) {
            DWORD size;
            BYTE *p = WintunReceivePacket(r.session, &size);
            CHECK(!p && GetLastError() == ERROR_HANDLE_EOF); /* the adapter went away under it */
            WintunEndSession(r.session);
        } else {
            CHECK(r.error == ERROR_INVALID_HANDLE || r.error == ERROR_DEV_NOT_EXIST);
        }
    }
}

/* ---- EndSession against calls in flight ---- */

struct worker
{
    WINTUN_SESSION_HANDLE session;
    WINTUN_ADAPTER_HANDLE adapter;
    int mode; /* 0: Allocate+fill+Send, 1: SendPackets, 2: receive and wait, 3: inject */
    DWORD error;
    uint64_t count;
};

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    BYTE pkt[256];
    make_ipv4(pkt, 256, 0);
    const BYTE *packets[1] = { pkt };
    DWORD sizes[1] = { 256 };
    for (;;) {
        if (w->mode == 0) {
            BYTE *p = WintunAllocateSendPacket(w->session, 256);
            if (!p) {
                if (GetLastError() == ERROR_BUFFER_OVERFLOW) {
                    wt_yield();
                    continue;
                }
                break;
            }
            make_ipv4(p, 256, (uint32_t)w->count); /* may run after EndSession began: quarantined memory */
            WintunSendPacket(w->session, p);
        } else if (w->mode == 1) {
            if (!WintunSendPackets(w->session, packets, sizes, 1)) {
                if (GetLastError() == ERROR_BUFFER_OVERFLOW) {
                    wt_yield();
                    continue;
                }
                break;
            }
        } else if (w->mode == 2) {
            DWORD size;
            BYTE *p = WintunReceivePacket(w->session, &size);
            if (p) {
                WintunReleaseReceivePacket(w->session, p);
            } else if (GetLastError() == ERROR_NO_MORE_ITEMS) {
                HANDLE event = WintunGetReadWaitEvent(w->session);
                if (!event)
                    break;
                WaitForSingleObject(event, 1000);
                continue;
            } else {
                break;
            }
        } else {
            if (!WintunEmulatedInjectPacket(w->adapter, pkt, 256) && GetLastError() != ERROR_BUFFER_OVERFLOW &&
                GetLastError() != ERROR_NOT_READY)
                break;
            if (w->count > 100000)
                break;
        }
        w->count++;
    }
    w->error = GetLastError();
    return NULL;
}

static void test_end_session_against_calls(void)
{
    for (int run = 0; run < 10; ++run) {
        WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"end-in-flight");
        WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
        struct worker w[6];
        pthread_t t[6];
        for (int i = 0; i < 6; ++i) {
            w[i] = (struct worker){ .session = s, .adapter = a, .mode = i < 4 ? i % 2 : i == 4 ? 2 : 3 };
            pthread_create(&t[i], NULL, worker_thread, &w[i]);
        }
        wt_sleep_us(2000 + run * 1000);
        WintunEndSession(s);
        for (int i = 0; i < 6; ++i)
            pthread_join(t[i], NULL);
        for (int i = 0; i < 5; ++i)
            CHECK(w[i].error == ERROR_HANDLE_EOF || w[i].error == ERROR_INVALID_HANDLE);
        BYTE buf[300];
        DWORD got;
        while (WintunEmulatedCapturePacket(a, buf, sizeof(buf), &got)) /* what the senders sent */
            ;
        CHECK(adapter_still_works(a, 99));
        WintunCloseAdapter(a);
    }
}

/* ---- nothing lost at teardown ---- */

static void check_received_accounting(WINTUN_ADAPTER_HANDLE a, uint64_t sent)
{
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st));
    uint64_t counted = st.ReceivePackets + st.ReceiveDiscards + st.ReceiveDrops + st.ReceiveErrors;
    if (counted != sent)
        printf("sent %llu, counted %llu (packets %llu, discards %llu, drops %llu, errors %llu)\n",
               (unsigned long long)sent, (unsigned long long)counted, (unsigned long long)st.ReceivePackets,
               (unsigned long long)st.ReceiveDiscards, (unsigned long long)st.ReceiveDrops,
               (unsigned long long)st.ReceiveErrors);
    CHECK(counted == sent);
}

static void test_nothing_lost_on_a_pair(void)
{
    for (int end_sender_first = 0; end_sender_first < 2; ++end_sender_first) {
        WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"lost-a"), b = emulated_adapter(L"lost-b");
        CHECK(WintunEmulatedConnect(a, b));
        WINTUN_SESSION_HANDLE sa = WintunStartSession(a, 0x20000), sb = WintunStartSession(b, 0x20000);
        uint64_t sent = 0, read = 0;
        BYTE pkt[1000];
        make_ipv4(pkt, 1000, 0);
        const BYTE *packets[16];
        DWORD sizes[16];
        for (int i = 0; i < 16; ++i)
            packets[i] = pkt, sizes[i] = 1000;
        /* Fill both rings: b reads only a few, so a's Receive ring stays full too. */
        uint64_t until = wt_monotonic_ns() + 200000000ull;
        while (wt_monotonic_ns() < until && sent < 5000) {
            DWORD n = WintunSendPackets(sa, packets, sizes, 16);
            sent += n;
            DWORD size;
            BYTE *p = WintunReceivePacket(sb, &size);
            if (p) {
                ++read;
                WintunReleaseReceivePacket(sb, p);
            }
            if (!n)
                wt_yield();
        }
        if (end_sender_first) {
            WintunEndSession(sa);
            WintunEndSession(sb);
        } else {
            WintunEndSession(sb);
            WintunEndSession(sa);
        }
        check_received_accounting(a, sent);
        WINTUN_ADAPTER_STATISTICS st;
        CHECK(WintunGetAdapterStatistics(b, &st));
        CHECK(st.SendPackets == read + st.SendUnread);
        CHECK(st.SendUnread > 0);
        WintunCloseAdapter(a);
        WintunCloseAdapter(b);
    }
}

static void test_nothing_lost_when_closed_under_the_session(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"lost-close"), b = emulated_adapter(L"lost-close-b");
    CHECK(WintunEmulatedConnect(a, b));
    WINTUN_SESSION_HANDLE sa = WintunStartSession(a, 0x20000), sb = WintunStartSession(b, 0x20000);
    (void)sb;
    uint64_t sent = 0;
    for (uint32_t i = 0; i < 2000; ++i) {
        if (!send_ipv4(sa, 500, i))
            break;
        ++sent;
    }
    WINTUN_ADAPTER_HANDLE opened = WintunOpenAdapter(L"lost-close");
    WintunCloseAdapter(a); /* the owner: the session dies under its client */
    WintunEndSession(sa);
    check_received_accounting(opened, sent);
    WintunCloseAdapter(opened);
    WintunEndSession(sb);
    WintunCloseAdapter(b);
}

/* ---- every waiter woken ---- */

struct waiter
{
    WINTUN_SESSION_HANDLE session;
    int got;
    int busy_ms; /* after its first packet, a slow consumer */
    uint64_t woken_at;
};

static void *waiter_thread(void *arg)
{
    struct waiter *w = arg;
    HANDLE event = WintunGetReadWaitEvent(w->session);
    uint64_t until = wt_monotonic_ns() + 3000000000ull;
    while (wt_monotonic_ns() < until) {
        DWORD size;
        BYTE *p = WintunReceivePacket(w->session, &size);
        if (p) {
            WintunReleaseReceivePacket(w->session, p);
            __atomic_store_n(&w->woken_at, wt_monotonic_ns(), __ATOMIC_RELEASE);
            __atomic_store_n(&w->got, 1, __ATOMIC_RELEASE);
            break;
        }
        if (GetLastError() != ERROR_NO_MORE_ITEMS)
            break;
        WaitForSingleObject(event, 3000);
    }
    return NULL;
}

static void test_every_waiter_woken(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"two-waiters");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    struct waiter w[2] = { { .session = s }, { .session = s } };
    pthread_t t[2];
    for (int i = 0; i < 2; ++i)
        pthread_create(&t[i], NULL, waiter_thread, &w[i]);
    wt_sleep_us(50000); /* both asleep on the event */
    BYTE pkt[40];
    make_ipv4(pkt, 40, 1);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
#define GOT(i) __atomic_load_n(&w[i].got, __ATOMIC_ACQUIRE)
    WAIT_UNTIL(GOT(0) || GOT(1), 2000);
    CHECK(GOT(0) || GOT(1));
    /* The first one woken took its packet and is done; the other must be woken by the next. */
    uint64_t sent_at = wt_monotonic_ns();
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    WAIT_UNTIL(GOT(0) && GOT(1), 2000);
    CHECK(GOT(0) && GOT(1));
#undef GOT
    struct waiter *second = w[0].woken_at > w[1].woken_at ? &w[0] : &w[1];
    CHECK(second->woken_at - sent_at < 500000000ull);
    for (int i = 0; i < 2; ++i)
        pthread_join(t[i], NULL);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

/* ---- logger callbacks that call the API ---- */

static WINTUN_ADAPTER_HANDLE logger_adapter;
static int logger_calls;

static void CALLBACK reentrant_logger(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    static _Thread_local int inside; /* the calls below log too: one level deep */
    (void)level, (void)timestamp, (void)message;
    __atomic_add_fetch(&logger_calls, 1, __ATOMIC_RELAXED);
    if (inside)
        return;
    inside = 1;
    /* Registry, configuration and session paths: each takes a lock the logging call may hold. */
    WINTUN_ADAPTER_HANDLE opened = WintunOpenAdapter(L"logger-reentry");
    if (opened)
        WintunCloseAdapter(opened);
    DWORD mtu;
    WintunGetAdapterMtu(logger_adapter, &mtu);
    WINTUN_ADAPTER_STATISTICS st;
    WintunGetAdapterStatistics(logger_adapter, &st);
    WINTUN_SESSION_HANDLE s = WintunStartSession(logger_adapter, 0x20000); /* fails while one runs: logs */
    if (s)
        WintunEndSession(s);
    inside = 0;
}

static void test_logger_may_call_the_api(void)
{
    logger_adapter = emulated_adapter(L"logger-reentry");
    WintunSetLogger(reentrant_logger);
    WINTUN_SESSION_HANDLE s = WintunStartSession(logger_adapter, 0x20000);
    CHECK_ERR(WintunCreateAdapterEx(L"logger-reentry", L"Test", NULL, WINTUN_BACKEND_EMULATED), ERROR_ALREADY_EXISTS);
    CHECK_ERR(WintunStartSession(logger_adapter, 0x20000), ERROR_ALREADY_INITIALIZED);
    CHECK_ERR(WintunSetAdapterMtu(logger_adapter, 1), ERROR_INVALID_PARAMETER);
#ifndef _WIN32
    /* Logged by the backend's create, under the registry lock before lines were held: the
     * callback's WintunOpenAdapter deadlocked on it. */
    CHECK_ERR(WintunCreateAdapterEx(L"bad name", L"Test", NULL, WINTUN_BACKEND_KERNEL), ERROR_INVALID_NAME);
#endif
    BYTE junk[8];
    SetLastError(0);
    WintunReleaseReceivePacket(s, junk + 4);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER); /* the callback kept the caller's last error */
    WintunSetLogger(NULL);
    CHECK(logger_calls >= 4);
    WintunEndSession(s);
    WintunCloseAdapter(logger_adapter);
}

#if !defined(_WIN32) && !defined(__SANITIZE_THREAD__)
/* ---- fork ---- */

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_fork_child_leaves_parent_alone(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"forked");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    DWORD size;
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_NO_MORE_ITEMS); /* armed, the driver asleep */
    wt_sleep_us(20000);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: inherited handles are stale; its own adapters work. */
        int ok = !WintunReceivePacket(s, &size) && GetLastError() == ERROR_INVALID_HANDLE;
        WintunEndSession(s);
        WintunCloseAdapter(a);
        WINTUN_ADAPTER_HANDLE mine = WintunCreateAdapterEx(L"forked", L"Test", NULL, WINTUN_BACKEND_EMULATED);
        ok = ok && mine && adapter_still_works(mine, 5);
        WintunCloseAdapter(mine);
        /* _exit: the parent's objects are the child's leaks by design (the sanitizers' exit-time
         * leak check would report them); the Python suite covers a normal interpreter exit. */
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent's receive thread still sleeps (no stray stop signal), and the session works. */
    double before = cpu_seconds();
    wt_sleep_us(300000);
    double spent = cpu_seconds() - before;
    if (spent >= 0.1)
        printf("parent used %.3f s of CPU in 0.3 s after the child exited\n", spent);
    CHECK(spent < 0.1);
    CHECK(send_ipv4(s, 40, 8));
    BYTE buf[64];
    DWORD got;
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 8);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}
#endif

int main(void)
{
    setenv("WINTUN_BACKEND", "emulated", 1);
    RUN(test_stale_session_handle);
    RUN(test_stale_adapter_handle);
    RUN(test_values_that_never_were_handles);
    RUN(test_pointer_into_packet);
    RUN(test_start_session_against_close);
    RUN(test_end_session_against_calls);
    RUN(test_nothing_lost_on_a_pair);
    RUN(test_nothing_lost_when_closed_under_the_session);
    RUN(test_every_waiter_woken);
    RUN(test_logger_may_call_the_api);
#if !defined(_WIN32) && !defined(__SANITIZE_THREAD__) /* TSan cannot start threads after a fork */
    RUN(test_fork_child_leaves_parent_alone);
#endif
    return test_summary();
}
