/* SPDX-License-Identifier: MIT
 *
 * wintun_device.h: the adapter's device, as clients used Wintun before wintun.dll (README "From
 * the seeds"): open the device, register two rings with TUN_IOCTL_REGISTER_RINGS and move packets
 * with the Alertable/TailMoved loops (Wintun 0.5 and later), or ReadFile/WriteFile bundles of
 * packets on a handle without rings (the driver of April 2019). Layouts are bit-exact with
 * Wintun's (docs/protocol.md §1).
 *
 * Windows: the structures and codes only. The device is the real driver's and CreateFileW,
 * DeviceIoControl, ReadFile and WriteFile are Windows' own; this library does not stand in for them.
 *
 * Linux (win32compat.h): the same calls on the adapters this process created or opened, served by
 * the driver half in this library:
 *   CreateFileW(L"\\\\.\\Global\\WINTUN<n>" or L"\\\\.\\Device\\WINTUN<n>", where n is the
 *       NetLuidIndex of WintunGetAdapterLUID; GENERIC_READ and/or GENERIC_WRITE; any share mode,
 *       checked against the other handles as Windows does (ERROR_SHARING_VIOLATION); NULL security
 *       attributes and template; OPEN_EXISTING; flags 0 or FILE_ATTRIBUTE_NORMAL: overlapped I/O is
 *       not supported, ERROR_NOT_SUPPORTED). A name that is no adapter's: ERROR_FILE_NOT_FOUND;
 *       another form of name: ERROR_PATH_NOT_FOUND. Failure returns INVALID_HANDLE_VALUE.
 *   DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS, &rings, sizeof(rings), NULL, 0, &bytes, NULL): the
 *       driver's checks, in its order: ERROR_ALREADY_INITIALIZED if the adapter has a client (a
 *       session, or rings or bundles of another handle) or this handle registered before;
 *       ERROR_INVALID_PARAMETER for an input that is not sizeof(TUN_REGISTER_RINGS) bytes (no 32-bit
 *       form on Linux: there is no WOW64), a ring size whose capacity is not a power of two in
 *       [TUN_MIN_RING_CAPACITY, TUN_MAX_RING_CAPACITY], a NULL ring or event, a ring not 4-byte
 *       aligned (Wintun does not check; an unaligned ring is undefined for atomics here), or a Send
 *       ring Tail not below its capacity; ERROR_INVALID_HANDLE for an event that is not an open
 *       event; ERROR_INVALID_USER_BUFFER for a ring that is not writable memory of RingSize bytes;
 *       ERROR_ACCESS_DENIED without both GENERIC_READ and GENERIC_WRITE; ERROR_INVALID_FUNCTION
 *       for another code. The driver keeps its own references on the events: the client may close
 *       them. It must not free the rings before CloseHandle (undefined, as on Windows).
 *   ReadFile/WriteFile on a handle that registered no rings: bundles (below). Blocking only
 *       (lpOverlapped must be NULL). ERROR_INVALID_FUNCTION on a handle with rings.
 *   CloseHandle(h): unregisters: the driver hands over what the client had sent, sets the Send
 *       ring's Tail to 0xFFFFFFFF and signals its TailMoved; then the adapter takes a new client.
 *       Nothing is lost uncounted: packets between the client's Send Head and the driver's last
 *       Tail are counted in SendUnread, packets it published that the driver never took in
 *       ReceiveDrops (wintun_ext.h).
 *
 * Bundles: each packet is a 16-byte header (u32 Size, 12 zero bytes) and Size bytes of IP packet;
 * the next header starts at the next 16-byte boundary. At most TUN_BUNDLE_MAX_PACKETS a call, Size
 * at most TUN_BUNDLE_MAX_IP_PACKET_SIZE. Every handle of an adapter that reads or writes bundles
 * shares one client: the first such call makes it (ERROR_ALREADY_INITIALIZED if a session or rings
 * have the adapter) and it ends with the last of those handles. Packets the OS sent before it are
 * not kept (the adapter had no client, as Wintun).
 *   ReadFile: buffer of at least TUN_BUNDLE_MIN_READ_SIZE bytes (else ERROR_INSUFFICIENT_BUFFER);
 *       blocks until one packet is there, returns as many as fit; at teardown (CloseHandle of the
 *       handle in another thread, the adapter closed or gone) FALSE with ERROR_HANDLE_EOF. Nothing
 *       is lost without a count: packets left unread when the bundle client ends (with its last
 *       handle) are counted in SendUnread. A packet too large for a bundle is skipped and counted
 *       in SendErrors (it is in SendPackets too).
 *   WriteFile: every header is checked before any packet is sent (ERROR_INVALID_USER_BUFFER, with
 *       a log line naming the packet: a Size over the limit or past the end of the buffer, more
 *       than 256 packets, bytes after the last packet that are no header); then all are sent, and
 *       *lpNumberOfBytesWritten is the whole buffer. A packet that is not IP is discarded by the
 *       driver and counted in ReceiveDiscards; one that finds the ring full for 50 ms is dropped
 *       and counted in ReceiveDrops, as a kernel TUN write never fails on a full queue.
 * A bad call leaves the handle usable.
 */
#ifndef WINTUN_DEVICE_INTERFACE_H
#define WINTUN_DEVICE_INTERFACE_H

#include <stddef.h>
#include <stdint.h>

#include "wintun.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TUN_ALIGNMENT 4u
#define TUN_ALIGN(Size) (((uint32_t)(Size) + (TUN_ALIGNMENT - 1)) & ~(TUN_ALIGNMENT - 1))
#define TUN_MAX_IP_PACKET_SIZE 0xFFFFu
#define TUN_MAX_PACKET_SIZE TUN_ALIGN(sizeof(uint32_t) + TUN_MAX_IP_PACKET_SIZE) /* 0x10004 */
#define TUN_RING_TRAILING_BYTES (TUN_MAX_PACKET_SIZE - TUN_ALIGNMENT)        /* 0x10000 */
#define TUN_MIN_RING_CAPACITY 0x20000u
#define TUN_MAX_RING_CAPACITY 0x4000000u
#define TUN_RING_CLOSED 0xFFFFFFFFu
#define TUN_RING_WRAP(Value, Capacity) ((uint32_t)(Value) & ((Capacity)-1))
#define TUN_RING_SIZE(Capacity) ((uint32_t)(sizeof(TUN_RING) + (Capacity) + TUN_RING_TRAILING_BYTES))
#define TUN_RING_CAPACITY(Size) ((uint32_t)(Size) - (uint32_t)sizeof(TUN_RING) - TUN_RING_TRAILING_BYTES)

/* Head: offset of the first packet (the consumer's); Tail: offset of the free space (the
 * producer's); Alertable: non-zero while the consumer waits for TailMoved. */
typedef struct _TUN_RING
{
    volatile uint32_t Head;
    volatile uint32_t Tail;
    volatile int32_t Alertable;
    uint8_t Data[];
} TUN_RING;

/* A packet in a ring: Size (at most 0xFFFF) and the IP packet, the next one 4-byte aligned. */
typedef struct _TUN_PACKET
{
    uint32_t Size;
    uint8_t Data[];
} TUN_PACKET;

/* TUN_IOCTL_REGISTER_RINGS's input: 48 bytes in a 64-bit process, 24 in a 32-bit one. */
typedef struct _TUN_REGISTER_RINGS
{
    struct
    {
        uint32_t RingSize;
        TUN_RING *Ring;
        HANDLE TailMoved;
    } Send, Receive;
} TUN_REGISTER_RINGS;

/* The 32-bit layout, which Wintun's 64-bit driver takes from 32-bit (WOW64) processes. */
typedef struct _TUN_REGISTER_RINGS_32
{
    struct
    {
        uint32_t RingSize;
        uint32_t Ring;
        uint32_t TailMoved;
    } Send, Receive;
} TUN_REGISTER_RINGS_32;

_Static_assert(sizeof(TUN_RING) == 12, "TUN_RING's header is 12 bytes");
_Static_assert(offsetof(TUN_RING, Data) == 12, "ring data starts at offset 12");
_Static_assert(sizeof(TUN_PACKET) == 4, "TUN_PACKET's header is 4 bytes");
_Static_assert(sizeof(TUN_REGISTER_RINGS) == (sizeof(void *) == 8 ? 48 : 24), "TUN_REGISTER_RINGS is 48 or 24 bytes");
_Static_assert(sizeof(TUN_REGISTER_RINGS_32) == 24, "TUN_REGISTER_RINGS_32 is 24 bytes");

#ifndef CTL_CODE
#define CTL_CODE(DeviceType, Function, Method, Access) (((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#endif
#ifndef METHOD_BUFFERED
#define METHOD_BUFFERED 0
#endif
#ifndef FILE_READ_DATA
#define FILE_READ_DATA 0x0001
#define FILE_WRITE_DATA 0x0002
#endif
#ifndef FILE_DEVICE_UNKNOWN
#define FILE_DEVICE_UNKNOWN 0x00000022
#endif

/* Wintun 0.5 and later: device type 51820, function 0x970 (0xCA6CE5C0). */
#define TUN_IOCTL_REGISTER_RINGS CTL_CODE(51820U, 0x970U, METHOD_BUFFERED, FILE_READ_DATA | FILE_WRITE_DATA)
/* The first ring driver's code (seed 002, July 2019): FILE_DEVICE_UNKNOWN, function 0x800
 * (0x22E000). This library takes both on Linux; Wintun's released drivers take only the first. */
#define TUN_IOCTL_REGISTER_RINGS_2019 CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800U, METHOD_BUFFERED, FILE_READ_DATA | FILE_WRITE_DATA)

_Static_assert(TUN_IOCTL_REGISTER_RINGS == 0xCA6CE5C0u, "TUN_IOCTL_REGISTER_RINGS is 0xCA6CE5C0");
_Static_assert(TUN_IOCTL_REGISTER_RINGS_2019 == 0x22E000u, "the 2019 code is 0x22E000");

/* The device names CreateFileW takes (format with the adapter's NetLuidIndex). */
#define WINTUN_DEVICE_PATH_GLOBAL L"\\\\.\\Global\\WINTUN%u"
#define WINTUN_DEVICE_PATH_DEVICE L"\\\\.\\Device\\WINTUN%u"

/* Bundles (the driver of April 2019). */
#define TUN_BUNDLE_ALIGNMENT 16u
#define TUN_BUNDLE_ALIGN(Size) (((uint32_t)(Size) + (TUN_BUNDLE_ALIGNMENT - 1)) & ~(TUN_BUNDLE_ALIGNMENT - 1))
#define TUN_BUNDLE_MAX_PACKETS 256u
#define TUN_BUNDLE_MAX_PACKET_SIZE 0xF000u                                       /* header included */
#define TUN_BUNDLE_MAX_IP_PACKET_SIZE (TUN_BUNDLE_MAX_PACKET_SIZE - TUN_BUNDLE_ALIGNMENT) /* 0xEFF0 */
#define TUN_BUNDLE_MIN_READ_SIZE 0xF000u

typedef struct _TUN_BUNDLE_PACKET
{
    uint32_t Size;
    uint8_t Reserved[12]; /* zero */
    uint8_t Data[];
} TUN_BUNDLE_PACKET;

_Static_assert(sizeof(TUN_BUNDLE_PACKET) == 16, "a bundle packet's header is 16 bytes");

#ifdef __cplusplus
}
#endif
#endif
