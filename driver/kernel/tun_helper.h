/* SPDX-License-Identifier: MIT
 *
 * The client of wintun-helper (helper_protocol.h): kernel adapters for a process without
 * CAP_NET_ADMIN. One connection per adapter; the helper removes the adapter when it closes.
 */
#ifndef WINTUN_TUN_HELPER_H
#define WINTUN_TUN_HELPER_H

#include "helper_protocol.h"
#include "tun_open.h"

struct wt_helper_link
{
    int fd; /* the connection, -1 if none */
    uint32_t adapter;
};

/* The helper's socket: WINTUN_HELPER_SOCKET, else WT_HELPER_DEFAULT_SOCKET. */
const char *wt_helper_socket_path(void);
/* Whether a kernel adapter goes through the helper: none of its own namespace asked for, no
 * CAP_NET_ADMIN in this process, and a socket where the helper listens. */
int wt_helper_wanted(const char *netns);
/* Creates the adapter through the helper (flags: wt_tun_create's): out gets the TUN descriptor
 * and the index (no netlink socket: configuration goes through link). Errors are the helper's,
 * logged with its reason. */
DWORD wt_helper_create(const char *name, const char *tunnel_type, const GUID *guid, unsigned flags,
                       struct wt_helper_link *link, struct wt_tun_handles *out);
/* One request on the adapter (req->adapter is filled in); the reply's status, logged if not 0. */
DWORD wt_helper_call(struct wt_helper_link *link, struct wt_helper_request *req, struct wt_helper_reply *reply);
/* Closes the connection: the helper removes the adapter. */
void wt_helper_close(struct wt_helper_link *link);

#endif
