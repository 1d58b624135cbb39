/* SPDX-License-Identifier: MIT
 *
 * Wintun's example flow, with this library: create adapter "Demo", give it 10.6.7.7/24, start a
 * session, and run a sender thread (an ICMP echo request from 10.6.7.8 to 10.6.7.7 every
 * interval) and a receiver thread (prints every packet the adapter sends out). The OS answers the
 * echo requests, so the receiver sees the replies. Stops on Ctrl-C, or after --count replies.
 *
 *   WINTUN_BACKEND=emulated ./example [--count N] [--interval MS]
 */
#include "wintun.h"
#include "wintun_ext.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

static HANDLE quit_event;
static volatile int have_quit;
static long replies_wanted;
static long replies_seen;
static DWORD interval_ms = 1000;

static void CALLBACK console_logger(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    /* FILETIME -> Unix time */
    time_t seconds = (time_t)(timestamp / 10000000ULL - 11644473600ULL);
    unsigned tenths_of_ms = (unsigned)((timestamp / 1000) % 10000);
    struct tm tm;
#ifdef _WIN32
    gmtime_s(&tm, &seconds);
#else
    gmtime_r(&seconds, &tm);
#endif
    char level_char = level == WINTUN_LOG_INFO ? '+' : level == WINTUN_LOG_WARN ? '-' : '!';
    fprintf(stderr, "%04d-%02d-%02d %02d:%02d:%02d.%04u [%c] %ls\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, tenths_of_ms, level_char, message);
}

static void log_message(WINTUN_LOGGER_LEVEL level, const char *fmt, ...)
{
    char text[512];
    WCHAR wide[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    size_t i = 0;
    for (; text[i] && i + 1 < sizeof(wide) / sizeof(wide[0]); ++i)
        wide[i] = (WCHAR)(unsigned char)text[i];
    wide[i] = 0;
#ifdef _WIN32
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    DWORD64 now = ((DWORD64)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
#else
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    DWORD64 now = ((DWORD64)ts.tv_sec + 11644473600ULL) * 10000000ULL + (DWORD64)ts.tv_nsec / 100;
#endif
    console_logger(level, now, wide);
}

static DWORD log_error(const char *prefix, DWORD error)
{
    log_message(WINTUN_LOG_ERR, "%s (code 0x%08lx)", prefix, (unsigned long)error);
    return error;
}

static void request_quit(void)
{
    have_quit = 1;
    SetEvent(quit_event);
}

#ifdef _WIN32
static BOOL WINAPI ctrl_handler(DWORD type)
{
    (void)type;
    log_message(WINTUN_LOG_INFO, "Cleaning up and shutting down...");
    request_quit();
    return TRUE;
}
#else
static void signal_handler(int sig)
{
    (void)sig;
    request_quit(); /* SetEvent is a write() to an eventfd: async-signal-safe */
}
#endif

static uint16_t checksum(const BYTE *data, DWORD len)
{
    uint32_t sum = 0;
    for (DWORD i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(data[i] << 8 | data[i + 1]);
    if (len & 1)
        sum += (uint32_t)data[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

static void print_packet(const BYTE *packet, DWORD size)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    BYTE proto;
    const BYTE *payload;
    DWORD payload_size;
    if (size >= 20 && packet[0] >> 4 == 4) {
        DWORD ihl = (DWORD)(packet[0] & 0xF) * 4;
        if (ihl < 20 || ihl > size)
            ihl = 20;
        inet_ntop(AF_INET, packet + 12, src, sizeof(src));
        inet_ntop(AF_INET, packet + 16, dst, sizeof(dst));
        proto = packet[9];
        payload = packet + ihl;
        payload_size = size - ihl;
        if (proto == 1 && payload_size >= 8 && payload[0] == 0) {
            log_message(WINTUN_LOG_INFO, "Received IPv4 ICMP echo reply from %s to %s", src, dst);
            ++replies_seen;
            return;
        }
        log_message(WINTUN_LOG_INFO, "Received IPv4 proto 0x%x packet from %s to %s", proto, src, dst);
    } else if (size >= 40 && packet[0] >> 4 == 6) {
        inet_ntop(AF_INET6, packet + 8, src, sizeof(src));
        inet_ntop(AF_INET6, packet + 24, dst, sizeof(dst));
        proto = packet[6];
        payload = packet + 40;
        payload_size = size - 40;
        if (proto == 58 && payload_size >= 8 && payload[0] == 129) {
            log_message(WINTUN_LOG_INFO, "Received IPv6 ICMP echo reply from %s to %s", src, dst);
            ++replies_seen;
            return;
        }
        log_message(WINTUN_LOG_INFO, "Received IPv6 proto 0x%x packet from %s to %s", proto, src, dst);
    } else {
        log_message(WINTUN_LOG_INFO, "Received packet that was not IP (%lu bytes)", (unsigned long)size);
    }
}

/* ICMPv4 echo request, 10.6.7.8 -> 10.6.7.7, as Wintun's example builds it. */
static void make_icmp(BYTE packet[28], uint16_t sequence)
{
    memset(packet, 0, 28);
    packet[0] = 0x45;
    packet[3] = 28;
    packet[8] = 255;
    packet[9] = 1;
    const BYTE src[4] = { 10, 6, 7, 8 }, dst[4] = { 10, 6, 7, 7 };
    memcpy(packet + 12, src, 4);
    memcpy(packet + 16, dst, 4);
    uint16_t c = checksum(packet, 20);
    packet[10] = (BYTE)(c >> 8);
    packet[11] = (BYTE)c;
    packet[20] = 8;
    packet[26] = (BYTE)(sequence >> 8);
    packet[27] = (BYTE)sequence;
    c = checksum(packet + 20, 8);
    packet[22] = (BYTE)(c >> 8);
    packet[23] = (BYTE)c;
}

#ifdef _WIN32
#define THREAD_RETURN DWORD WINAPI
#define THREAD_RESULT(x) ((DWORD)(x))
#else
#define THREAD_RETURN void *
#define THREAD_RESULT(x) ((void *)(uintptr_t)(x))
#endif

static THREAD_RETURN receive_packets(void *arg)
{
    WINTUN_SESSION_HANDLE session = arg;
    HANDLE wait_handles[] = { WintunGetReadWaitEvent(session), quit_event };
    while (!have_quit) {
        DWORD size;
        BYTE *packet = WintunReceivePacket(session, &size);
        if (packet) {
            print_packet(packet, size);
            WintunReleaseReceivePacket(session, packet);
            if (replies_wanted && replies_seen >= replies_wanted)
                request_quit();
            continue;
        }
        DWORD err = GetLastError();
        if (err == ERROR_NO_MORE_ITEMS) {
            if (WaitForMultipleObjects(2, wait_handles, FALSE, INFINITE) == WAIT_OBJECT_0)
                continue;
            return THREAD_RESULT(ERROR_SUCCESS);
        }
        return THREAD_RESULT(log_error("Packet read failed", err));
    }
    return THREAD_RESULT(ERROR_SUCCESS);
}

static THREAD_RETURN send_packets(void *arg)
{
    WINTUN_SESSION_HANDLE session = arg;
    uint16_t sequence = 0;
    while (!have_quit) {
        BYTE *packet = WintunAllocateSendPacket(session, 28);
        if (packet) {
            make_icmp(packet, ++sequence);
            WintunSendPacket(session, packet);
            log_message(WINTUN_LOG_INFO, "Sent IPv4 ICMP echo request %u from 10.6.7.8 to 10.6.7.7", sequence);
        } else if (GetLastError() != ERROR_BUFFER_OVERFLOW) {
            return THREAD_RESULT(log_error("Packet write failed", GetLastError()));
        }
        if (WaitForSingleObject(quit_event, interval_ms) == WAIT_OBJECT_0)
            break;
    }
    return THREAD_RESULT(ERROR_SUCCESS);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc)
            replies_wanted = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval_ms = (DWORD)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--count N] [--interval MS]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    WintunSetLogger(console_logger);
    log_message(WINTUN_LOG_INFO, "Wintun library loaded");

    DWORD last_error = ERROR_SUCCESS;
    quit_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!quit_event)
        return (int)log_error("Failed to create event", GetLastError());
#ifdef _WIN32
    SetConsoleCtrlHandler(ctrl_handler, TRUE);
#else
    signal(SIGINT, signal_handler);
    signal(SIGTERM, signal_handler);
#endif

    GUID example_guid = { 0xdeadbabe, 0xcafe, 0xbeef, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef } };
    WINTUN_ADAPTER_HANDLE adapter = WintunCreateAdapter(L"Demo", L"Example", &example_guid);
    if (!adapter) {
        last_error = log_error("Failed to create adapter", GetLastError());
        goto cleanup_quit;
    }
    DWORD version = WintunGetRunningDriverVersion();
    log_message(WINTUN_LOG_INFO, "Wintun v%u.%u loaded", (unsigned)(version >> 16) & 0xff, (unsigned)version & 0xff);

    WINTUN_ADDRESS address = { .Family = AF_INET, .PrefixLength = 24, .Address = { 10, 6, 7, 7 } };
    if (!WintunAddAdapterAddress(adapter, &address) && GetLastError() != ERROR_OBJECT_ALREADY_EXISTS) {
        last_error = log_error("Failed to set IP address", GetLastError());
        goto cleanup_adapter;
    }

    WINTUN_SESSION_HANDLE session = WintunStartSession(adapter, 0x400000);
    if (!session) {
        last_error = log_error("Failed to create session", GetLastError());
        goto cleanup_adapter;
    }

    log_message(WINTUN_LOG_INFO, "Launching threads and mangling packets...");
#ifdef _WIN32
    HANDLE workers[] = { CreateThread(NULL, 0, receive_packets, session, 0, NULL),
                         CreateThread(NULL, 0, send_packets, session, 0, NULL) };
    if (!workers[0] || !workers[1]) {
        last_error = log_error("Failed to create threads", GetLastError());
        request_quit();
    }
    for (int i = 0; i < 2; ++i) {
        if (!workers[i])
            continue;
        DWORD rc = 0;
        WaitForSingleObject(workers[i], INFINITE);
        GetExitCodeThread(workers[i], &rc);
        if (rc && !last_error)
            last_error = rc;
        CloseHandle(workers[i]);
    }
#else
    pthread_t workers[2];
    int started = 0;
    if (!pthread_create(&workers[0], NULL, receive_packets, session))
        ++started;
    if (started && !pthread_create(&workers[1], NULL, send_packets, session))
        ++started;
    if (started < 2) {
        last_error = log_error("Failed to create threads", ERROR_NOT_ENOUGH_MEMORY);
        request_quit();
    }
    for (int i = 0; i < started; ++i) {
        void *rc;
        pthread_join(workers[i], &rc);
        if (rc && !last_error)
            last_error = (DWORD)(uintptr_t)rc;
    }
#endif
    WINTUN_ADAPTER_STATISTICS stats;
    if (WintunGetAdapterStatistics(adapter, &stats))
        log_message(WINTUN_LOG_INFO, "Adapter counters: %llu packets in, %llu packets out, %llu dropped",
                    (unsigned long long)stats.ReceivePackets, (unsigned long long)stats.SendPackets,
                    (unsigned long long)(stats.SendDrops + stats.ReceiveDrops));
    WintunEndSession(session);
cleanup_adapter:
    WintunCloseAdapter(adapter);
cleanup_quit:
    CloseHandle(quit_event);
    if (!last_error && replies_wanted && replies_seen < replies_wanted)
        last_error = ERROR_HANDLE_EOF;
    return (int)last_error;
}
