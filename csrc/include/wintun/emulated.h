/* SPDX-License-Identifier: MIT
 *
 * The emulated wire: the OS side of an emulated adapter, in-process, no privileges needed.
 *
 * What the client sends (WintunSendPacket) goes, after the driver's checks, to the adapter's OS
 * side, which:
 * - answers ICMPv4/ICMPv6 echo requests addressed to one of the adapter's own addresses
 *   (WintunAddAdapterAddress), as an OS stack would: the reply comes back through the Send ring;
 * - if the adapter is wired to a peer (WintunEmulatedConnect), hands every packet to the peer,
 *   where its client receives it (WintunReceivePacket), like a veth pair. The wire is lossless:
 *   while the peer's Send ring is full the packets wait in the sender's Receive ring, whose
 *   client then sees ERROR_BUFFER_OVERFLOW. A peer without a session drops them (counted);
 * - otherwise queues it for WintunEmulatedCapturePacket (1 MiB; a full queue drops, counted in
 *   ReceiveDrops).
 * An adapter that is down (WintunSetAdapterUp FALSE) drops both ways, counted.
 *
 * WintunEmulatedInjectPacket(s) is the other direction: packets the OS sends out of the adapter,
 * for the client. All functions fail with ERROR_NOT_SUPPORTED on a kernel adapter.
 */
#ifndef WINTUN_EMULATED_H
#define WINTUN_EMULATED_H

#include "wintun_ext.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WINTUN_EMULATED_CAPTURE_CAPACITY 0x100000

/* One packet from the OS to the client. FALSE with: ERROR_INVALID_PARAMETER (Size > 0xFFFF, or
 * NULL data), ERROR_NOT_READY (no session: dropped, counted), ERROR_BUFFER_OVERFLOW (Send ring
 * full: dropped, counted), ERROR_HANDLE_EOF (the client closed its ring), ERROR_DEV_NOT_EXIST
 * (adapter removed or down: dropped, counted). */
WINTUN_API BOOL WINAPI WintunEmulatedInjectPacket(WINTUN_ADAPTER_HANDLE Adapter, const BYTE *Packet, DWORD Size);
/* A batch, delivered all or nothing as Wintun delivers one NBL chain. */
WINTUN_API BOOL WINAPI WintunEmulatedInjectPackets(WINTUN_ADAPTER_HANDLE Adapter, const BYTE *const *Packets,
                                                    const DWORD *Sizes, DWORD Count);
/* Takes the oldest packet the client sent that the OS side kept. FALSE with ERROR_NO_MORE_ITEMS
 * when there is none, ERROR_INSUFFICIENT_BUFFER when it does not fit (*PacketSize tells its
 * size; it stays queued). */
WINTUN_API BOOL WINAPI WintunEmulatedCapturePacket(WINTUN_ADAPTER_HANDLE Adapter, BYTE *Buffer, DWORD BufferSize,
                                                    DWORD *PacketSize);
/* Auto-reset event signalled when a packet is queued for capture after
 * WintunEmulatedCapturePacket reported ERROR_NO_MORE_ITEMS. Owned by the adapter. */
WINTUN_API HANDLE WINAPI WintunEmulatedGetCaptureEvent(WINTUN_ADAPTER_HANDLE Adapter);
/* Wires two emulated adapters back to back. ERROR_INVALID_PARAMETER for the same adapter twice,
 * ERROR_ALREADY_EXISTS if either is already wired. */
WINTUN_API BOOL WINAPI WintunEmulatedConnect(WINTUN_ADAPTER_HANDLE A, WINTUN_ADAPTER_HANDLE B);
/* Unwires an adapter (and its peer). ERROR_NOT_FOUND if it is not wired. */
WINTUN_API BOOL WINAPI WintunEmulatedDisconnect(WINTUN_ADAPTER_HANDLE Adapter);

#ifdef __cplusplus
}
#endif
#endif
