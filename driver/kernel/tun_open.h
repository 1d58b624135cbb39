/* SPDX-License-Identifier: MIT
 *
 * Creating a Linux TUN interface, in a network namespace of choice.
 */
#ifndef WINTUN_TUN_OPEN_H
#define WINTUN_TUN_OPEN_H

#include "wintun_ext.h"

struct wt_tun_handles
{
    int tun_fd;    /* /dev/net/tun attached to the interface: IFF_TUN | IFF_NO_PI, non-blocking */
    int nl_fd;     /* NETLINK_ROUTE socket in the interface's namespace */
    int netns_fd;  /* the namespace, or -1 for the caller's own */
    int userns_fd; /* the private user namespace owning it, or -1 */
    unsigned ifindex;
    int vnet_hdr; /* made with IFF_VNET_HDR: a virtio-net header before each packet, both ways */
};

/* wt_tun_create's flags */
#define WT_TUN_VNET_HDR 1 /* IFF_VNET_HDR */

/* Creates the interface `name` (at most 15 bytes; never an existing one: IFF_TUN_EXCL) in:
 * NULL or "" the calling thread's network namespace; "private" a new user and network namespace
 * of its own (no privilege needed where the kernel allows unprivileged user namespaces); a path
 * such as /proc/PID/ns/net or /var/run/netns/NAME; or a bare NAME under /var/run/netns.
 * Returns a Win32 code, logged with the reason: ERROR_ACCESS_DENIED (no CAP_NET_ADMIN),
 * ERROR_ALREADY_EXISTS (the name is taken), ERROR_FILE_NOT_FOUND (no /dev/net/tun or no such
 * namespace), ERROR_NOT_SUPPORTED (user namespaces not allowed). */
DWORD wt_tun_create(const char *name, const char *netns, unsigned flags, struct wt_tun_handles *out);
void wt_tun_close(struct wt_tun_handles *handles);
/* An adapter's interface, as a Wintun adapter is once created: named after name (wt_tun_ifname;
 * a derived name carries name as its alternative name), up, without automatic IPv6 addresses.
 * ERROR_INVALID_NAME for a name no interface can have ('%', '/', ':', white space, more than 127
 * bytes), ERROR_NOT_SUPPORTED for a long name on a kernel without alternative names. */
DWORD wt_tun_create_adapter(const char *name, const char *netns, unsigned flags, struct wt_tun_handles *out);
/* Marks the interface as a Wintun adapter's, for listing from any process (`python -m wintun
 * list`): its alias (IFLA_IFALIAS) becomes "wintun:{GUID}:<tunnel type>", the tunnel type being
 * what Windows shows as the adapter's description. A failure is logged, not returned. */
void wt_tun_mark_adapter(int nl_fd, unsigned ifindex, const GUID *guid, const char *tunnel_type);
/* TUNSETOFFLOAD with the most of want (TUN_F_* flags) the kernel takes: all of them, then
 * without USO (before Linux 6.2), then checksums only, then none. Returns what it set. Needs no
 * privilege: the owner of a descriptor from wintun-helper sets its own. */
unsigned wt_tun_set_offload(int tun_fd, unsigned want);

#include <sys/types.h>

#define WT_MAX_SENT_FDS 4
/* sendmsg of data with count descriptors as SCM_RIGHTS (MSG_NOSIGNAL | flags). Async-signal-safe. */
ssize_t wt_send_with_fds(int sock, const void *data, size_t size, const int *fds, unsigned count, int flags);

#define WT_IFNAMSIZ 16     /* IFNAMSIZ: an interface name, NUL included */
#define WT_ALTIFNAMSIZ 128 /* ALTIFNAMSIZ: an alternative name (Linux 5.5) */

/* Whether name is one Linux takes for an interface (dev_valid_name), and is no template: at most
 * 15 bytes, without '/', ':', '%' or white space. */
int wt_tun_name_valid(const char *name);
/* The same rule for an alternative name: at most 127 bytes. */
int wt_tun_altname_valid(const char *name);
/* The interface name of an adapter called name: name itself where Linux takes it, else its first
 * six letters, digits, '_' or '-' ("wt" if none), a '-' and 8 hex digits of a hash of the whole
 * name (FNV-1a): "pymobiledevice3-tunnel-<UDID>" is "pymobi-" and the hash. Stable: the same
 * name gives the same interface name in every process, on every machine. */
void wt_tun_ifname(const char *name, char out[WT_IFNAMSIZ]);

#endif
