/* SPDX-License-Identifier: MIT
 *
 * Internal: the rings behind a session, for the tests that play a hostile driver or client (what
 * a session is made of, its ops, is in driver/device.h).
 */
#ifndef WINTUN_SESSION_H
#define WINTUN_SESSION_H

#include "device.h"

/* WintunStartSession's ring session on a device (what the bundle client of device_file.c uses). */
WINTUN_SESSION_HANDLE wt_session_start(struct wt_device *dev, DWORD capacity);

/* WintunSendPackets as a kernel TUN write behaves: what does not fit is tried again until wait_ns
 * have passed since the ring was last found full without progress, backing off (yields, then 20 µs,
 * then 200 µs sleeps: Wintun has no event that tells a producer the driver made room). Returns
 * how many packets went; *error gets ERROR_SUCCESS (all of them), ERROR_BUFFER_OVERFLOW (the ring
 * stayed full), or the error that stopped it. Blocks: callers release what they hold (the GIL). */
DWORD wt_send_packets_waiting(WINTUN_SESSION_HANDLE session, const BYTE *const *packets, const DWORD *sizes, DWORD count,
                              uint64_t wait_ns, DWORD *error);

TUN_RING *wt_session_send_ring(WINTUN_SESSION_HANDLE session);
TUN_RING *wt_session_receive_ring(WINTUN_SESSION_HANDLE session);
/* Publishes Tail of the Receive ring as a client does: store, full fence, wake if Alertable. */
void wt_session_publish_receive_tail(WINTUN_SESSION_HANDLE session, uint32_t tail);

#endif
