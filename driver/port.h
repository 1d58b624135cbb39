/* SPDX-License-Identifier: MIT
 *
 * A backend is the OS side of an adapter: it creates and removes the interface, receives the
 * packets the client sends (its wt_port_ops) and calls wt_driver_indicate for the packets the
 * OS sends out, and holds the interface's IP configuration. Each function returns a Win32 code.
 */
#ifndef WINTUN_PORT_H
#define WINTUN_PORT_H

#include "driver.h"

struct wt_device;

typedef struct wt_backend_ops
{
    const char *name;
    WINTUN_BACKEND kind;
    /* Makes the interface; sets dev->port, dev->luid's NetLuidIndex and initialises
     * dev->driver with the port's ops. */
    DWORD (*create)(struct wt_device *dev);
    /* Takes the interface away (the owner closed it); the device may live on until its last
     * reference goes, but no packet crosses any more. */
    void (*remove)(struct wt_device *dev);
    /* Frees what create made, after the last reference. */
    void (*destroy)(struct wt_device *dev);
    DWORD (*set_mtu)(struct wt_device *dev, DWORD mtu);
    DWORD (*get_mtu)(struct wt_device *dev, DWORD *mtu);
    DWORD (*add_address)(struct wt_device *dev, const WINTUN_ADDRESS *address);
    DWORD (*delete_address)(struct wt_device *dev, const WINTUN_ADDRESS *address);
    DWORD (*get_addresses)(struct wt_device *dev, WINTUN_ADDRESS *addresses, DWORD *count);
    DWORD (*set_up)(struct wt_device *dev, BOOL up);
    DWORD (*get_up)(struct wt_device *dev, BOOL *up);
    /* Optional: a session of the backend's own (a struct wt_session_head first, session.h), or
     * NULL with the last error; without it, sessions are rings served by dev->driver. */
    void *(*start_session)(struct wt_device *dev, DWORD capacity);
    /* Optional: counters kept by the OS rather than by dev->driver. */
    DWORD (*get_stats)(struct wt_device *dev, WINTUN_ADAPTER_STATISTICS *stats);
    /* Optional: the name of the OS's interface, in UTF-8, where it is not the adapter's own. */
    DWORD (*get_ifname)(struct wt_device *dev, char *name, DWORD size);
    /* Optional: offloads (wintun_ext.h); without them, an adapter has none. set_offload is called
     * without a session; it returns ERROR_BUSY if one has started meanwhile. */
    DWORD (*set_offload)(struct wt_device *dev, WINTUN_OFFLOAD_MODE mode);
    DWORD (*get_offload)(struct wt_device *dev, WINTUN_OFFLOAD_MODE *mode, DWORD *offloads);
} wt_backend_ops;

extern const wt_backend_ops wt_emulated_backend;
#if defined(_WIN32) && !defined(WT_NO_NATIVE)
/* Windows: the kernel backend over wintun.dll (csrc/win32/native_win32.c). */
extern const wt_backend_ops wt_native_backend;
/* Loads wintun.dll once per process (loader.h's search, from this module's folder); later calls
 * return the first outcome, or ERROR_ALREADY_INITIALIZED if Path names another file. */
DWORD wt_native_load(LPCWSTR path);
/* WintunOpenAdapter's fallback: the DLL's handle on an adapter of the system (any process), not
 * created here, or NULL with its error; wt_native_adopt makes it the device's port. */
WINTUN_ADAPTER_HANDLE wt_native_open(LPCWSTR name);
void wt_native_adopt(struct wt_device *dev, WINTUN_ADAPTER_HANDLE adapter);
BOOL wt_native_delete_driver(void);
DWORD wt_native_driver_version(void);
#endif
#ifndef _WIN32
extern const wt_backend_ops wt_kernel_backend;
/* The namespace descriptors of a kernel adapter (-1 for the caller's own); 0 if not kernel. */
int wt_kernel_netns_fds(struct wt_device *dev, int *netns_fd, int *userns_fd);
#endif

#endif
