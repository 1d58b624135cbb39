/* SPDX-License-Identifier: MIT
 *
 * Internal to the extension: the TunDevice object and what its three files share
 * (py_tundevice.c: construction, lifecycle, I/O and the type; py_tundevice_config.c: identity and
 * configuration; py_tundevice_emulated.c: an emulated adapter's OS side).
 */
#ifndef WINTUN_PY_TUNDEVICE_H
#define WINTUN_PY_TUNDEVICE_H

#include "pywintun.h"

#include <pythread.h>

typedef struct
{
    PyObject_HEAD
    wt_state *state; /* of the module that defines the type, found once in tp_new */
    WINTUN_ADAPTER_HANDLE adapter;
    WINTUN_SESSION_HANDLE session;
    HANDLE read_event; /* the session's, valid while session != NULL */
    HANDLE cancel;     /* manual-reset, ours: set by down()/close() to wake waiters */
    DWORD ring_capacity;
    int waiters;       /* threads inside wait_read_event with the GIL released (atomic) */
    PyThread_type_lock op_lock;  /* up(), down(), close() */
    unsigned long op_owner;      /* the thread holding op_lock, 0 if none */
    double write_timeout;        /* seconds a write waits for room in a full ring */
    int raise_on_full;           /* on_full="raise": RingFullError instead of a counted drop */
    int super_packets;           /* the session's packets have a virtio-net header first */
    uint64_t write_drops;        /* packets write()/write_batch() dropped on a full ring */
    /* Linux: dup()s of the read event's fd for asyncio's waits (_wait_fd), one per session, each
     * closed once its session has ended and no wait uses it any more (GIL held throughout). */
    struct wait_dup
    {
        int fd;         /* -1: a free slot */
        unsigned users; /* waits that have it and have not called _wait_done */
        int retired;    /* its session has ended */
    } wait_dups[4];
    int wait_current; /* the running session's slot, or -1 */
    PyObject *name;
    PyObject *tunnel_type;
    PyObject *netns;
    PyObject *weakreflist;
} TunDevice;

static inline wt_state *state_of(TunDevice *self) { return self->state; }

/* Runs a library call that may block with the GIL released: result = call. */
#define WITHOUT_GIL(result, call)                                                                  \
    do {                                                                                           \
        Py_BEGIN_ALLOW_THREADS result = (call);                                                    \
        Py_END_ALLOW_THREADS                                                                       \
    } while (0)

/* py_tundevice.c */
int parse_capacity(PyObject *value, DWORD *capacity);
int adapter_of(TunDevice *self);
int parse_timeout(PyObject *timeout, DWORD *ms);
PyObject *wait_or_cancel(TunDevice *self, HANDLE event, DWORD ms, const char *what);
PyObject *packets_tuple(PyObject *arg, const char *expected);

/* py_tundevice_config.c and py_tundevice_emulated.c: the methods and properties the type's
 * tables name */
PyObject *TunDevice_get_name(TunDevice *self, void *c);
PyObject *TunDevice_get_tunnel_type(TunDevice *self, void *c);
PyObject *TunDevice_get_netns(TunDevice *self, void *c);
PyObject *TunDevice_get_ifname(TunDevice *self, void *c);
PyObject *TunDevice_netns_fds(TunDevice *self, PyObject *Py_UNUSED(ignored));
PyObject *TunDevice_get_backend(TunDevice *self, void *c);
PyObject *TunDevice_get_luid(TunDevice *self, void *c);
PyObject *TunDevice_get_guid_str(TunDevice *self, void *c);
PyObject *TunDevice_get_mtu(TunDevice *self, void *c);
int parse_offload(PyObject *value, WINTUN_OFFLOAD_MODE *mode);
int set_offload_mode(TunDevice *self, WINTUN_ADAPTER_HANDLE adapter, WINTUN_OFFLOAD_MODE mode);
PyObject *TunDevice_get_offload(TunDevice *self, void *c);
int TunDevice_set_offload(TunDevice *self, PyObject *value, void *c);
PyObject *TunDevice_get_kernel_offloads(TunDevice *self, void *c);
int TunDevice_set_mtu(TunDevice *self, PyObject *value, void *c);
PyObject *TunDevice_get_ring_capacity(TunDevice *self, void *c);
int TunDevice_set_ring_capacity(TunDevice *self, PyObject *value, void *c);
PyObject *TunDevice_get_is_up(TunDevice *self, void *c);
PyObject *TunDevice_get_closed(TunDevice *self, void *c);
PyObject *TunDevice_addresses_raw(TunDevice *self, PyObject *Py_UNUSED(ignored));
PyObject *TunDevice_add_address_raw(TunDevice *self, PyObject *args);
PyObject *TunDevice_delete_address_raw(TunDevice *self, PyObject *args);
PyObject *TunDevice_statistics_raw(TunDevice *self, PyObject *Py_UNUSED(ignored));
PyObject *TunDevice_emu_inject(TunDevice *self, PyObject *arg);
PyObject *TunDevice_emu_capture(TunDevice *self, PyObject *Py_UNUSED(ignored));
PyObject *TunDevice_emu_wait_capture(TunDevice *self, PyObject *timeout);
PyObject *TunDevice_emu_connect(TunDevice *self, PyObject *arg);
PyObject *TunDevice_emu_disconnect(TunDevice *self, PyObject *Py_UNUSED(ignored));

#endif
