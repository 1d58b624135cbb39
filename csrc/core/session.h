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

TUN_RING *wt_session_send_ring(WINTUN_SESSION_HANDLE session);
TUN_RING *wt_session_receive_ring(WINTUN_SESSION_HANDLE session);
/* Publishes Tail of the Receive ring as a client does: store, full fence, wake if Alertable. */
void wt_session_publish_receive_tail(WINTUN_SESSION_HANDLE session, uint32_t tail);

#endif
