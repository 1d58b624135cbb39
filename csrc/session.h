/* SPDX-License-Identifier: MIT
 *
 * Internal: what a session is made of, and the rings behind one, for the tests that play a
 * hostile driver or client.
 */
#ifndef WINTUN_SESSION_H
#define WINTUN_SESSION_H

#include "ring.h"
#include "wintun.h"
#include "wintun_ext.h"

/* A session is rings served by this library's driver half (session.c), or another
 * implementation's session (Windows: wintun.dll's, native_win32.c). The object behind a session
 * handle starts with its ops, and every entry point goes through them: the one place where the
 * implementation is chosen is the adapter's start_session (port.h). Each op runs with the
 * session held (rundown); argument checks common to all are done before. */
struct wt_session_ops
{
    int holds_logs; /* it logs inside its calls, some under its own locks: hold lines for the call */
    void (*end)(void *session);
    HANDLE (*read_wait_event)(void *session);
    BYTE *(*receive)(void *session, DWORD *size);
    /* What was wrong with the pointer (logged with ERROR_INVALID_PARAMETER once the call has
     * left: a logger callback may end the session), or NULL. */
    const char *(*release)(void *session, const BYTE *packet);
    BYTE *(*allocate)(void *session, DWORD size);
    const char *(*send)(void *session, const BYTE *packet);
    DWORD (*receive_batch)(void *session, WINTUN_PACKET_VISITOR visitor, void *context, DWORD max);
    DWORD (*send_batch)(void *session, const BYTE *const *packets, const DWORD *sizes, DWORD count);
    BOOL (*is_receive_ready)(void *session);
};

struct wt_session_head
{
    const struct wt_session_ops *ops;
};

TUN_RING *wt_session_send_ring(WINTUN_SESSION_HANDLE session);
TUN_RING *wt_session_receive_ring(WINTUN_SESSION_HANDLE session);
/* Publishes Tail of the Receive ring as a client does: store, full fence, wake if Alertable. */
void wt_session_publish_receive_tail(WINTUN_SESSION_HANDLE session, uint32_t tail);

#endif
