/* SPDX-License-Identifier: MIT
 *
 * Helpers shared by the C tests: packets, emulated adapters, waiting with a deadline.
 */
#ifndef WINTUN_TEST_HELPERS_H
#define WINTUN_TEST_HELPERS_H

#include "platform.h"
#include "ring.h"
#include "session.h"
#include "wintun_ext.h"
#include "emulated.h"
#include "icmp_echo.h"
#include "test.h"

#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2ipdef.h>
static inline int setenv(const char *name, const char *value, int overwrite)
{
    (void)overwrite;
    return _putenv_s(name, value);
}
static inline int unsetenv(const char *name) { return _putenv_s(name, ""); }
#else
#include <sys/socket.h>
#endif

/* An IPv4/UDP-looking packet of size bytes (>= 28) carrying seq in bytes 24..27. */
static inline void make_ipv4(uint8_t *p, uint32_t size, uint32_t seq)
{
    memset(p, 0, size);
    p[0] = 0x45;
    p[2] = (uint8_t)(size >> 8);
    p[3] = (uint8_t)size;
    p[8] = 64;
    p[9] = 17;
    p[12] = 10, p[13] = 0, p[14] = 0, p[15] = 1;
    p[16] = 10, p[17] = 0, p[18] = 0, p[19] = 2;
    if (size >= 28) {
        p[24] = (uint8_t)(seq >> 24);
        p[25] = (uint8_t)(seq >> 16);
        p[26] = (uint8_t)(seq >> 8);
        p[27] = (uint8_t)seq;
    }
}

/* An ICMP echo request src -> dst with payload_len bytes "abcd…" (checksums filled); its size. */
static inline uint32_t make_echo4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t seq,
                                  uint32_t payload_len)
{
    const uint32_t size = 28 + payload_len;
    memset(p, 0, 28);
    p[0] = 0x45, p[2] = (uint8_t)(size >> 8), p[3] = (uint8_t)size, p[8] = 64, p[9] = 1;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    uint16_t c = wt_inet_checksum(p, 20, 0);
    p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
    p[20] = 8, p[26] = (uint8_t)(seq >> 8), p[27] = (uint8_t)seq;
    for (uint32_t i = 0; i < payload_len; ++i)
        p[28 + i] = (uint8_t)('a' + i % 26);
    c = wt_inet_checksum(p + 20, 8 + payload_len, 0);
    p[22] = (uint8_t)(c >> 8), p[23] = (uint8_t)c;
    return size;
}

static inline uint32_t packet_seq(const uint8_t *p)
{
    return (uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27];
}

static inline WINTUN_ADAPTER_HANDLE emulated_adapter(const WCHAR *name)
{
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapterEx(name, L"Test", NULL, WINTUN_BACKEND_EMULATED);
    if (!a) {
        printf("could not create emulated adapter: %lu\n", (unsigned long)GetLastError());
        exit(1);
    }
    return a;
}

/* WintunReceivePacket, waiting up to ms for a packet. */
static inline BYTE *receive_wait(WINTUN_SESSION_HANDLE s, DWORD *size, DWORD ms)
{
    uint64_t deadline = wt_monotonic_ns() + (uint64_t)ms * 1000000;
    for (;;) {
        BYTE *p = WintunReceivePacket(s, size);
        if (p || GetLastError() != ERROR_NO_MORE_ITEMS)
            return p;
        uint64_t now = wt_monotonic_ns();
        if (now >= deadline)
            return NULL;
        WaitForSingleObject(WintunGetReadWaitEvent(s), (DWORD)((deadline - now) / 1000000 + 1));
    }
}

/* WintunEmulatedCapturePacket, waiting up to ms. */
static inline BOOL capture_wait(WINTUN_ADAPTER_HANDLE a, BYTE *buf, DWORD size, DWORD *got, DWORD ms)
{
    uint64_t deadline = wt_monotonic_ns() + (uint64_t)ms * 1000000;
    for (;;) {
        if (WintunEmulatedCapturePacket(a, buf, size, got))
            return TRUE;
        if (GetLastError() != ERROR_NO_MORE_ITEMS)
            return FALSE;
        uint64_t now = wt_monotonic_ns();
        if (now >= deadline)
            return FALSE;
        WaitForSingleObject(WintunEmulatedGetCaptureEvent(a), (DWORD)((deadline - now) / 1000000 + 1));
    }
}

/* Sends one packet of size bytes (IPv4-looking) through the session. */
static inline BOOL send_ipv4(WINTUN_SESSION_HANDLE s, uint32_t size, uint32_t seq)
{
    BYTE *p = WintunAllocateSendPacket(s, size);
    if (!p)
        return FALSE;
    make_ipv4(p, size, seq);
    WintunSendPacket(s, p);
    return TRUE;
}

/* A fresh session on the adapter carries a packet to the OS side: the adapter is usable. */
static inline int adapter_still_works(WINTUN_ADAPTER_HANDLE a, uint32_t seq)
{
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    if (!s)
        return 0;
    BYTE buf[64];
    DWORD got;
    int ok = send_ipv4(s, 40, seq) && capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == seq;
    WintunEndSession(s);
    return ok;
}

#ifndef _WIN32
#include "wintun_device.h"
#include <wchar.h>

/* The adapter's device, opened as seed 002 does (wintun_device.h): INVALID_HANDLE_VALUE on failure. */
static inline HANDLE open_adapter_device(WINTUN_ADAPTER_HANDLE a)
{
    NET_LUID luid;
    WCHAR path[64];
    WintunGetAdapterLUID(a, &luid);
    swprintf(path, 64, WINTUN_DEVICE_PATH_GLOBAL, (unsigned)luid.Info.NetLuidIndex);
    return CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, 0, NULL);
}
#endif

/* A reader thread's loop: receives and releases until an error other than an empty ring, which it
 * keeps; a wait of 10 s without a packet also ends it (ERROR_NO_MORE_ITEMS), so a lost wake-up
 * fails the test instead of hanging it. */
struct reader
{
    WINTUN_SESSION_HANDLE session;
    DWORD error;
};

static inline void *read_until_error(void *arg)
{
    struct reader *r = arg;
    for (;;) {
        DWORD size;
        BYTE *p = receive_wait(r->session, &size, 10000);
        if (!p) {
            r->error = GetLastError();
            return NULL;
        }
        WintunReleaseReceivePacket(r->session, p);
    }
}

/* Polls cond (an expression) for up to ms. */
#define WAIT_UNTIL(cond, ms)                                                                       \
    do {                                                                                           \
        uint64_t until_ = wt_monotonic_ns() + (uint64_t)(ms)*1000000;                              \
        while (!(cond) && wt_monotonic_ns() < until_)                                              \
            wt_sleep_us(200);                                                                      \
    } while (0)

#endif
