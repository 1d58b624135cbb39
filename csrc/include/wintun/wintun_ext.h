/* SPDX-License-Identifier: MIT
 *
 * wintun_ext.h: this library's additions to Wintun's API. Same conventions as wintun.h:
 * FALSE/NULL on failure with GetLastError() set; nothing here exists in Wintun's own DLL.
 */
#ifndef WINTUN_EXT_H
#define WINTUN_EXT_H

#include "wintun.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
    WINTUN_BACKEND_DEFAULT = 0,  /* WINTUN_BACKEND from the environment, else kernel */
    WINTUN_BACKEND_EMULATED = 1, /* in-process adapter, no privileges needed */
    WINTUN_BACKEND_KERNEL = 2    /* Linux TUN device / Windows Wintun driver */
} WINTUN_BACKEND;

/* WintunCreateAdapter with an explicit backend. */
WINTUN_API WINTUN_ADAPTER_HANDLE WINAPI
WintunCreateAdapterEx(LPCWSTR Name, LPCWSTR TunnelType, const GUID *RequestedGUID, WINTUN_BACKEND Backend);
WINTUN_API WINTUN_BACKEND WINAPI WintunGetAdapterBackend(WINTUN_ADAPTER_HANDLE Adapter);

/* Linux: a kernel adapter in a network namespace. Netns is "private" (a new user and network
 * namespace of the adapter's own: no privilege needed where the kernel allows unprivileged user
 * namespaces), a path (/var/run/netns/NAME, /proc/PID/ns/net) or a NAME under /var/run/netns.
 * The calling thread stays where it is; the adapter's configuration goes to its namespace. */
WINTUN_API WINTUN_ADAPTER_HANDLE WINAPI WintunCreateAdapterInNetns(LPCWSTR Name, LPCWSTR TunnelType,
                                                                   const GUID *RequestedGUID, const char *Netns);
/* Linux: descriptors of the kernel adapter's network namespace and of the private user namespace
 * owning it (-1 when it is the caller's own), for setns() before running a tool in it. Owned by
 * the adapter. ERROR_NOT_SUPPORTED for an emulated adapter. */
WINTUN_API BOOL WINAPI WintunGetAdapterNetns(WINTUN_ADAPTER_HANDLE Adapter, int *NetnsFd, int *UsernsFd);
WINTUN_API BOOL WINAPI WintunGetAdapterGUID(WINTUN_ADAPTER_HANDLE Adapter, GUID *Guid);
/* Copies the adapter's name into Name (Size characters, NUL included). ERROR_INSUFFICIENT_BUFFER
 * if it does not fit. */
WINTUN_API BOOL WINAPI WintunGetAdapterName(WINTUN_ADAPTER_HANDLE Adapter, WCHAR *Name, DWORD Size);
/* Copies the adapter's tunnel type (Wintun 0.9-0.13's pool) into Type, as WintunGetAdapterName. */
WINTUN_API BOOL WINAPI WintunGetAdapterTunnelType(WINTUN_ADAPTER_HANDLE Adapter, WCHAR *Type, DWORD Size);
/* Wintun 0.9-0.13's WintunEnumAdapters, with 0.14's tunnel type where 0.9 had a pool: calls
 * Callback for each adapter of this process whose tunnel type is TunnelType (case-insensitive;
 * NULL: every adapter), with a handle of its own that is closed when the callback returns (the
 * adapter stays), until it returns FALSE. No lock is held during the callback: it may call any
 * function. ERROR_INVALID_PARAMETER for no callback or an empty type. */
typedef BOOL(CALLBACK *WINTUN_ENUM_CALLBACK)(WINTUN_ADAPTER_HANDLE Adapter, LPARAM Param);
WINTUN_API BOOL WINAPI WintunEnumAdapters(LPCWSTR TunnelType, WINTUN_ENUM_CALLBACK Callback, LPARAM Param);
/* Linux: the kernel's name of the adapter's interface, in UTF-8 (Size bytes, NUL included), as
 * the kernel has it now: the adapter's name where Linux takes it (at most 15 bytes), else one
 * derived from it, with the full name as an alternative name (see WintunCreateAdapter).
 * ERROR_INSUFFICIENT_BUFFER if it does not fit (16 bytes always do); ERROR_NOT_SUPPORTED where
 * there is no Linux interface (an emulated adapter, Windows). */
WINTUN_API BOOL WINAPI WintunGetAdapterInterfaceName(WINTUN_ADAPTER_HANDLE Adapter, char *Name, DWORD Size);

/* Linux: how a kernel adapter uses the TUN offloads (IFF_VNET_HDR and TUNSETOFFLOAD). */
typedef enum
{
    /* One packet per read() and write(), no offloads: what wintun.dll does on Windows, and the
     * emulated backend. */
    WINTUN_OFFLOAD_NONE = 0,
    /* The default on Linux: the kernel passes TCP (and UDP, Linux 6.2 or later) super-packets of up
     * to 64 KiB with their checksums left to finish; the driver cuts them into the packets the
     * rings carry, no larger than the MTU and with valid checksums, and merges the TCP segments
     * (and equal-sized UDP datagrams) a client sends into super-packets, one write() each.
     * Clients see ordinary IP packets. */
    WINTUN_OFFLOAD_TRANSPARENT = 1,
    /* Opt in: both rings carry each packet behind a 10-byte virtio-net header (struct
     * virtio_net_hdr, fields in host byte order): a super-packet with its GSO type and segment
     * size, or a plain packet (GSO type 0) whose checksum may be left to finish (flags 1,
     * NEEDS_CSUM). Packets sent are checked the same way: a header the kernel could not have made
     * is counted in ReceiveErrors. Packets and headers fit WINTUN_MAX_IP_PACKET_SIZE together; a
     * rare UDP super-packet that would not arrives cut into plain packets. WintunSplitSuperPacket
     * cuts a super-packet into the packets it stands for. */
    WINTUN_OFFLOAD_SUPER_PACKETS = 2
} WINTUN_OFFLOAD_MODE;

/* Sets how the adapter uses offloads, for the sessions that start after it: ERROR_BUSY while a
 * session is running, ERROR_INVALID_PARAMETER for another mode, ERROR_NOT_SUPPORTED for a mode
 * other than NONE where there are no offloads (an emulated adapter, Windows, or a kernel adapter
 * created with WINTUN_OFFLOAD=off in the environment). Offloads the kernel lacks are probed at
 * creation: USO where Linux takes it, else TCP only, else none (NONE, TRANSPARENT still accepted). */
WINTUN_API BOOL WINAPI WintunSetAdapterOffload(WINTUN_ADAPTER_HANDLE Adapter, WINTUN_OFFLOAD_MODE Mode);
/* The adapter's mode, and the TUN_F_* flags of <linux/if_tun.h> the kernel has on now
 * (KernelOffloads may be NULL; 0 with NONE or without offloads). */
WINTUN_API BOOL WINAPI WintunGetAdapterOffload(WINTUN_ADAPTER_HANDLE Adapter, WINTUN_OFFLOAD_MODE *Mode,
                                               DWORD *KernelOffloads);
/* Cuts a packet of WINTUN_OFFLOAD_SUPER_PACKETS (its virtio-net header first, Size bytes in all)
 * into the IP packets it stands for, as the kernel would: segments of a TCP or UDP super-packet
 * with their lengths, ids, sequence numbers, flags and checksums; a plain packet with its checksum
 * finished. Writes them one after the other into Out (OutSize bytes), their sizes into Sizes
 * (room for *Count; on return the number of packets). ERROR_INVALID_DATA for a header or packet
 * the kernel could not have made, ERROR_INSUFFICIENT_BUFFER (and *Count, *Needed) if Out or
 * Sizes are too small. Needed (may be NULL) gets the bytes written or needed. */
WINTUN_API BOOL WINAPI WintunSplitSuperPacket(const BYTE *Packet, DWORD Size, BYTE *Out, DWORD OutSize, DWORD *Sizes,
                                              DWORD *Count, DWORD *Needed);

/* Windows: loads the official wintun.dll that kernel adapters go through, from Path (NULL: the
 * WINTUN_DLL environment variable, else wintun.dll in this library's folder, the application's
 * folder, then System32). Without this call the first kernel adapter loads it the default way.
 * Once loaded it stays: another Path fails with ERROR_ALREADY_INITIALIZED. Errors name what is
 * missing: ERROR_MOD_NOT_FOUND (the file), ERROR_PROC_NOT_FOUND (an export). Elsewhere:
 * ERROR_NOT_SUPPORTED (the kernel backend is the system's TUN device). */
WINTUN_API BOOL WINAPI WintunLoadDll(LPCWSTR Path);

/* Counters kept by the driver half, named from the adapter's (the OS's) side like a NIC's:
 * "Send" = packets the OS sends out of the adapter, delivered to the client's Send ring
 * (WintunReceivePacket); "Receive" = packets the client injects (WintunSendPacket) and the
 * driver hands to the OS. Nothing is lost without a count, at teardown too: once a session has
 * ended, every packet its client sent is in exactly one of ReceivePackets, ReceiveDiscards,
 * ReceiveDrops and ReceiveErrors, and the client read SendPackets - SendUnread packets. */
typedef struct _WINTUN_ADAPTER_STATISTICS
{
    DWORD64 SendPackets;     /* delivered into the Send ring */
    DWORD64 SendBytes;
    DWORD64 SendDrops;       /* Send ring full, or no session: the whole batch was dropped */
    DWORD64 SendErrors;      /* larger than WINTUN_MAX_IP_PACKET_SIZE */
    DWORD64 ReceivePackets;  /* taken from the Receive ring and handed to the OS */
    DWORD64 ReceiveBytes;
    DWORD64 ReceiveDiscards; /* not IPv4/IPv6, or shorter than its IP header (Wintun 0.14) */
    DWORD64 ReceiveDrops;    /* the OS side could not take it (queue full, peer without session) */
    DWORD64 ReceiveErrors;   /* corrupt ring framing (ring closed), or the OS refused the write */
    DWORD64 SendUnread;      /* delivered into the Send ring, still unread when the session ended */
} WINTUN_ADAPTER_STATISTICS;

WINTUN_API BOOL WINAPI WintunGetAdapterStatistics(WINTUN_ADAPTER_HANDLE Adapter, WINTUN_ADAPTER_STATISTICS *Stats);

/* IP configuration, through the OS's own API on the kernel backend (netlink, IP Helper) and
 * kept in the adapter on the emulated one. Family is AF_INET or AF_INET6 of the platform;
 * Address holds 4 or 16 bytes in network order. */
typedef struct _WINTUN_ADDRESS
{
    ADDRESS_FAMILY Family;
    BYTE PrefixLength;
    BYTE Address[16];
} WINTUN_ADDRESS;

#define WINTUN_MAX_ADDRESSES 64

WINTUN_API BOOL WINAPI WintunAddAdapterAddress(WINTUN_ADAPTER_HANDLE Adapter, const WINTUN_ADDRESS *Address);
WINTUN_API BOOL WINAPI WintunDeleteAdapterAddress(WINTUN_ADAPTER_HANDLE Adapter, const WINTUN_ADDRESS *Address);
/* On input *Count is the room in Addresses; on output the number the adapter has. FALSE with
 * ERROR_INSUFFICIENT_BUFFER when they did not fit (nothing is copied then). */
WINTUN_API BOOL WINAPI WintunGetAdapterAddresses(WINTUN_ADAPTER_HANDLE Adapter, WINTUN_ADDRESS *Addresses, DWORD *Count);
/* MTU in bytes: 68..65535 for IPv4-only use; 1280..65535 once an IPv6 address is set. */
WINTUN_API BOOL WINAPI WintunSetAdapterMtu(WINTUN_ADAPTER_HANDLE Adapter, DWORD Mtu);
WINTUN_API BOOL WINAPI WintunGetAdapterMtu(WINTUN_ADAPTER_HANDLE Adapter, DWORD *Mtu);
WINTUN_API BOOL WINAPI WintunSetAdapterUp(WINTUN_ADAPTER_HANDLE Adapter, BOOL Up);
WINTUN_API BOOL WINAPI WintunGetAdapterUp(WINTUN_ADAPTER_HANDLE Adapter, BOOL *Up);

/* Batched packet I/O, for bindings that copy every packet anyway: one lock acquisition and one
 * Head or Tail publication per call instead of two locks per packet.
 *
 * WintunReceivePackets hands up to MaxPackets packets, in order, to Visitor, which runs under
 * the ring's lock (it must not call back into the session) and returns TRUE to consume the
 * packet (it is released at once) or FALSE to leave it for the next call. Returns how many were
 * consumed; 0 with GetLastError() ERROR_NO_MORE_ITEMS (empty: the read event is armed, as after
 * WintunReceivePacket), ERROR_HANDLE_EOF, ERROR_INVALID_DATA, ERROR_INVALID_PARAMETER, or
 * ERROR_SUCCESS if the visitor left the first packet. An error met after some packets is
 * reported by the next call. Mixes freely with WintunReceivePacket/WintunReleaseReceivePacket. */
typedef BOOL(CALLBACK *WINTUN_PACKET_VISITOR)(void *Context, const BYTE *Packet, DWORD PacketSize);
WINTUN_API DWORD WINAPI WintunReceivePackets(WINTUN_SESSION_HANDLE Session, WINTUN_PACKET_VISITOR Visitor,
                                             void *Context, DWORD MaxPackets);

/* WintunAllocateSendPacket + copy + WintunSendPacket for Count packets, in order, stopping at
 * the first that does not fit. Returns how many were sent; 0 with ERROR_BUFFER_OVERFLOW (none
 * fit), ERROR_HANDLE_EOF, or ERROR_INVALID_PARAMETER (a size over 0xFFFF or missing data:
 * nothing is sent). Packets allocated earlier and not yet sent still go first. */
WINTUN_API DWORD WINAPI WintunSendPackets(WINTUN_SESSION_HANDLE Session, const BYTE *const *Packets,
                                          const DWORD *PacketSizes, DWORD Count);

/* Non-blocking check that WintunReceivePacket would return a packet (TRUE) or an error (TRUE,
 * so that the caller calls it and learns the error). FALSE means empty: the read-wait event is
 * then armed, as after ERROR_NO_MORE_ITEMS, and will be signalled by the next packet. */
WINTUN_API BOOL WINAPI WintunIsReceiveReady(WINTUN_SESSION_HANDLE Session);

#ifdef __cplusplus
}
#endif
#endif
