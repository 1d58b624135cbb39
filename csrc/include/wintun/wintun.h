/* SPDX-License-Identifier: MIT
 *
 * wintun.h: Wintun 0.14's session API, implemented by this library on Linux and Windows.
 *
 * Same 14 functions, names (including WintunGetAdapterLUID), types, semantics, check order and
 * Win32 error codes as Wintun 0.14 (see docs/protocol.md §2), so a program
 * written against Wintun builds on Linux with the same calls. On failure a function returns
 * NULL/FALSE/0 and GetLastError() tells why; as in Wintun, success does not clear the last
 * error, so test the return value first.
 *
 * Where this implementation closes Wintun's gaps:
 * - WintunAllocateSendPacket rejects PacketSize > WINTUN_MAX_IP_PACKET_SIZE with
 *   ERROR_INVALID_PARAMETER (Wintun accepted it and the driver then killed the ring).
 * - WintunStartSession rejects a capacity that is not a power of two in
 *   [WINTUN_MIN_RING_CAPACITY, WINTUN_MAX_RING_CAPACITY] with ERROR_INVALID_PARAMETER.
 * - WintunEndSession wakes every thread blocked on the read-wait event (WaitForSingleObject
 *   returns WAIT_OBJECT_0); such a thread must not use the session again.
 * - WintunReleaseReceivePacket and WintunSendPacket detect a packet released or sent twice, or a
 *   pointer outside the outstanding packets, and refuse it with ERROR_INVALID_PARAMETER (the
 *   functions return nothing, so the last error is the only report; an ERR line is logged).
 *   A pointer that lies inside another packet's payload cannot always be told from a packet:
 *   pass only pointers these functions returned.
 * - WintunReleaseReceivePacket and WintunSendPacket accept only the exact pointer a packet was
 *   handed out with: a pointer into a packet's payload gets ERROR_INVALID_PARAMETER and the ring
 *   is left untouched.
 * - Handles are entries of a table (index and generation), not pointers. Checked, with
 *   ERROR_INVALID_HANDLE and no other effect: NULL; a handle already closed or ended (a second
 *   WintunEndSession or WintunCloseAdapter included); a handle of the other kind; any other value
 *   that is not a live handle (a garbage value can only ever name a live handle of this process,
 *   never memory); a handle inherited across fork() (the parent's, in the child). A stale
 *   handle never reaches a newer object (its slot's generation moved on; on 32-bit builds a
 *   slot must be reused 2^14 times before a stale handle could match again, 2^32 on 64-bit).
 * - Every function may be called from any thread against any other. WintunEndSession and
 *   WintunCloseAdapter make the handle stale at once and wait until calls already inside have
 *   left (rundown protection); such calls, and later ones, end with ERROR_HANDLE_EOF or
 *   ERROR_INVALID_HANDLE. Undefined: using a packet pointer after WintunEndSession has
 *   returned (its memory stays mapped for 2 s when packets were still handed out, so a thread
 *   that is finishing a memcpy does not crash, but nothing it writes is sent), and calling
 *   session functions from a WintunReceivePackets visitor.
 * - Nothing is lost silently: at teardown the driver still hands over what the client had sent,
 *   and counts what it could not (see WINTUN_ADAPTER_STATISTICS in wintun_ext.h).
 * - The logger callback runs with no lock of the library held, after the call that logged has
 *   done its work, and may call any function (a callback that logs through the API recurses:
 *   guard it); lines of the driver's own threads come from a dispatcher thread.
 * - The read-wait event is signalled when a packet arrives after WintunReceivePacket reported
 *   ERROR_NO_MORE_ITEMS or took the last packet in the ring (and for the first packet of the
 *   session): wait on it only after that error, as Wintun prescribes. Several threads may wait
 *   on it: each such arrival wakes one, and a thread that takes the last packet re-arms it, so
 *   none sleeps through a later packet. On Linux it is pollable: WintunGetEventFd(event).
 *
 * Adapters and backends (Linux): WintunCreateAdapter makes a kernel TUN interface ("kernel"
 * backend) or an in-process emulated adapter that needs no privileges ("emulated" backend). The
 * environment variable WINTUN_BACKEND picks one: "emulated" or "kernel" (the default). Names are
 * at most 127 characters (ERROR_BUFFER_OVERFLOW, as Wintun). A kernel adapter's interface is
 * named after it: the name itself if Linux takes it (at most 15 bytes), else a name derived from
 * it (its first six letters, '-', 8 hex digits of a hash: stable), with the full name as the
 * interface's alternative name (Linux 5.5; ERROR_NOT_SUPPORTED without). Names with '%' (a kernel
 * template), '/', ':' or white space, or longer than 127 bytes of UTF-8, get ERROR_INVALID_NAME:
 * never truncated or altered. WintunGetAdapterInterfaceName (wintun_ext.h) gives the kernel's.
 * wintun_ext.h has this library's extensions (statistics, MTU, addresses, backend choice).
 *
 * Programs that load the functions at run time, as Wintun's example does
 * (static WINTUN_CREATE_ADAPTER_FUNC *WintunCreateAdapter;), define WINTUN_NO_PROTOTYPES before
 * including this header.
 */
#ifndef WINTUN_H
#define WINTUN_H

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#include <ws2ipdef.h>
#include <ipexport.h>
#include <ifdef.h>
#include <setupapi.h>
#ifndef ERROR_INF_IN_USE_BY_DEVICES
#define ERROR_INF_IN_USE_BY_DEVICES SPAPI_E_INF_IN_USE_BY_DEVICES
#endif
#else
#include "win32compat.h"
#endif

#ifndef VOID
#define VOID void
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* WINTUN_STATIC: the functions are part of a program or module that exports none of them (the
 * Python extension exports PyInit__wintun only). */
#if defined(WINTUN_STATIC)
#define WINTUN_API
#elif defined(_WIN32) && defined(WINTUN_BUILDING_DLL)
#define WINTUN_API __declspec(dllexport)
#elif defined(_WIN32) && defined(WINTUN_USING_DLL)
#define WINTUN_API __declspec(dllimport)
#elif defined(__GNUC__) && !defined(_WIN32)
#define WINTUN_API __attribute__((visibility("default")))
#else
#define WINTUN_API
#endif

/* A handle representing a Wintun adapter. */
typedef struct _WINTUN_ADAPTER *WINTUN_ADAPTER_HANDLE;

/* A handle representing a Wintun session. */
typedef struct _TUN_SESSION *WINTUN_SESSION_HANDLE;

#define WINTUN_MIN_RING_CAPACITY 0x20000  /* 128kiB */
#define WINTUN_MAX_RING_CAPACITY 0x4000000 /* 64MiB */
#define WINTUN_MAX_IP_PACKET_SIZE 0xFFFF

typedef enum
{
    WINTUN_LOG_INFO, /* Informational */
    WINTUN_LOG_WARN, /* Warning */
    WINTUN_LOG_ERR   /* Error */
} WINTUN_LOGGER_LEVEL;

/* Called with the level, a FILETIME timestamp (100 ns since 1601-01-01 UTC) and the message.
 * May be called from any thread, several at once. */
typedef VOID(CALLBACK *WINTUN_LOGGER_CALLBACK)(WINTUN_LOGGER_LEVEL Level, DWORD64 Timestamp, LPCWSTR Message);

typedef WINTUN_ADAPTER_HANDLE(WINAPI WINTUN_CREATE_ADAPTER_FUNC)(LPCWSTR Name, LPCWSTR TunnelType, const GUID *RequestedGUID);
typedef WINTUN_ADAPTER_HANDLE(WINAPI WINTUN_OPEN_ADAPTER_FUNC)(LPCWSTR Name);
typedef VOID(WINAPI WINTUN_CLOSE_ADAPTER_FUNC)(WINTUN_ADAPTER_HANDLE Adapter);
typedef BOOL(WINAPI WINTUN_DELETE_DRIVER_FUNC)(VOID);
typedef VOID(WINAPI WINTUN_GET_ADAPTER_LUID_FUNC)(WINTUN_ADAPTER_HANDLE Adapter, NET_LUID *Luid);
typedef DWORD(WINAPI WINTUN_GET_RUNNING_DRIVER_VERSION_FUNC)(VOID);
typedef VOID(WINAPI WINTUN_SET_LOGGER_FUNC)(WINTUN_LOGGER_CALLBACK NewLogger);
typedef WINTUN_SESSION_HANDLE(WINAPI WINTUN_START_SESSION_FUNC)(WINTUN_ADAPTER_HANDLE Adapter, DWORD Capacity);
typedef VOID(WINAPI WINTUN_END_SESSION_FUNC)(WINTUN_SESSION_HANDLE Session);
typedef HANDLE(WINAPI WINTUN_GET_READ_WAIT_EVENT_FUNC)(WINTUN_SESSION_HANDLE Session);
typedef BYTE *(WINAPI WINTUN_RECEIVE_PACKET_FUNC)(WINTUN_SESSION_HANDLE Session, DWORD *PacketSize);
typedef VOID(WINAPI WINTUN_RELEASE_RECEIVE_PACKET_FUNC)(WINTUN_SESSION_HANDLE Session, const BYTE *Packet);
typedef BYTE *(WINAPI WINTUN_ALLOCATE_SEND_PACKET_FUNC)(WINTUN_SESSION_HANDLE Session, DWORD PacketSize);
typedef VOID(WINAPI WINTUN_SEND_PACKET_FUNC)(WINTUN_SESSION_HANDLE Session, const BYTE *Packet);

#ifndef WINTUN_NO_PROTOTYPES
/* Creates an adapter. Name: at most 127 characters. TunnelType: at most 128 characters.
 * RequestedGUID: the adapter's GUID, or NULL for a random one. Errors: ERROR_INVALID_PARAMETER
 * (NULL or empty strings), ERROR_BUFFER_OVERFLOW (too long), ERROR_INVALID_NAME (a name the OS
 * cannot take), ERROR_ALREADY_EXISTS (the name or GUID is taken), ERROR_ACCESS_DENIED (no
 * privilege for the kernel backend), ERROR_NOT_SUPPORTED (unknown WINTUN_BACKEND). */
WINTUN_API WINTUN_CREATE_ADAPTER_FUNC WintunCreateAdapter;
/* Opens an existing adapter by name (case-insensitive). ERROR_NOT_FOUND if there is none. An
 * opened handle does not own the adapter: closing it leaves the adapter in place. */
WINTUN_API WINTUN_OPEN_ADAPTER_FUNC WintunOpenAdapter;
/* Releases the handle; the adapter is removed if this handle created it. NULL is a no-op. */
WINTUN_API WINTUN_CLOSE_ADAPTER_FUNC WintunCloseAdapter;
/* Nothing to uninstall here: the driver half is part of the library. FALSE with
 * ERROR_INF_IN_USE_BY_DEVICES while adapters exist, as Wintun's un-forced removal fails. */
WINTUN_API WINTUN_DELETE_DRIVER_FUNC WintunDeleteDriver;
/* The adapter's LUID (IfType 53; on Linux a kernel adapter's NetLuidIndex is its interface
 * index). An invalid handle sets *Luid to 0 with ERROR_INVALID_HANDLE; a NULL Luid does nothing. */
WINTUN_API WINTUN_GET_ADAPTER_LUID_FUNC WintunGetAdapterLUID;
/* (major << 16) | minor of the driver half: 0.14, the protocol it serves. On Windows with the
 * kernel backend, the running Wintun driver's, or 0 with ERROR_FILE_NOT_FOUND if none is loaded. */
WINTUN_API WINTUN_GET_RUNNING_DRIVER_VERSION_FUNC WintunGetRunningDriverVersion;
/* Sets the log callback (NULL: none), process-wide. Lines are Wintun 0.14's: FILETIME stamps,
 * up to 0x400 characters, ERR lines ending in ": <system text> (Code 0x%08X)". */
WINTUN_API WINTUN_SET_LOGGER_FUNC WintunSetLogger;
/* Starts the adapter's session with two rings of Capacity bytes each. Errors:
 * ERROR_INVALID_HANDLE (not a live adapter), ERROR_INVALID_PARAMETER (Capacity not a power of two
 * in [WINTUN_MIN_RING_CAPACITY, WINTUN_MAX_RING_CAPACITY]), ERROR_ALREADY_INITIALIZED (the
 * adapter has a session), ERROR_DEV_NOT_EXIST (the adapter was removed), ERROR_NOT_ENOUGH_MEMORY
 * (ring memory), ERROR_MAX_THRDS_REACHED / ERROR_TOO_MANY_OPEN_FILES (no thread or descriptor
 * left). */
WINTUN_API WINTUN_START_SESSION_FUNC WintunStartSession;
/* Ends the session: its handle is stale at once, calls inside finish first (ERROR_HANDLE_EOF),
 * every thread waiting on the read event wakes. A stale or NULL handle: ERROR_INVALID_HANDLE,
 * no effect. */
WINTUN_API WINTUN_END_SESSION_FUNC WintunEndSession;
/* The session's read-wait event (auto-reset, owned by the session: do not close it), or NULL with
 * ERROR_INVALID_HANDLE. */
WINTUN_API WINTUN_GET_READ_WAIT_EVENT_FUNC WintunGetReadWaitEvent;
/* The next packet the OS sent, and its size in *PacketSize; NULL with ERROR_NO_MORE_ITEMS (none
 * waiting: wait on the read event), ERROR_HANDLE_EOF (the session ended, or the adapter went),
 * ERROR_INVALID_DATA (the ring's framing is corrupt: sticky), ERROR_INVALID_PARAMETER (NULL
 * PacketSize), ERROR_INVALID_HANDLE. The packet stays valid until it is released. */
WINTUN_API WINTUN_RECEIVE_PACKET_FUNC WintunReceivePacket;
/* Gives a received packet's ring space back (in any order). ERROR_INVALID_PARAMETER, with the
 * ring untouched, for a pointer that is not an outstanding packet's start or was released before;
 * ERROR_INVALID_HANDLE. Returns nothing: the last error is the report. */
WINTUN_API WINTUN_RELEASE_RECEIVE_PACKET_FUNC WintunReleaseReceivePacket;
/* Room for a packet of PacketSize bytes, to fill and then send; NULL with ERROR_BUFFER_OVERFLOW
 * (the ring is full: retry later, no event says when), ERROR_HANDLE_EOF (the session ended, or
 * the driver declared the ring bad), ERROR_INVALID_PARAMETER (PacketSize >
 * WINTUN_MAX_IP_PACKET_SIZE), ERROR_INVALID_HANDLE. */
WINTUN_API WINTUN_ALLOCATE_SEND_PACKET_FUNC WintunAllocateSendPacket;
/* Sends an allocated packet. Packets reach the OS in allocation order: one allocated and never
 * sent holds back those after it. ERROR_INVALID_PARAMETER, with the ring untouched, for a pointer
 * that is not an allocated packet's start or was sent before; ERROR_INVALID_HANDLE. */
WINTUN_API WINTUN_SEND_PACKET_FUNC WintunSendPacket;
#endif

#ifdef __cplusplus
}
#endif
#endif
